import { execFileSync } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { latestEpisodes } from '@swarmcast/catalog';
import {
  freePort,
  requireBinaries,
  requireServices,
  scratchDir,
  scratchPostgres,
  waitFor,
} from '@swarmcast/testkit';
import { describe, expect, it } from 'vitest';
import { startNode } from '../src/index.ts';
import { statementKeyFile } from '../src/secrets.ts';

/**
 * Privacy that holds against a backup (issue 13): after real traffic (origin downloads, a
 * tracker announce, play beacons) from an address and user agent of our own, a dump of the
 * node's database (pg_dump of the real PostgreSQL; every row of every table of PGlite) holds
 * no daily salt, no raw IP address, no user agent and no peer id. The salts live in
 * `<dataDir>/salts` (no REDIS_URL here), outside the database; so does the private half of the
 * statement signing key (`<dataDir>/statement-signing-key.jwk.json`).
 */
const pg = await requireServices('database dump of a node on PostgreSQL', 'postgres');
const pgDump = requireBinaries('pg_dump of the node database', 'pg_dump');
const clientIp = '127.0.0.7';
const userAgent = 'DumpProbe/7.3 (privacy-marker-ua; Linux)';
const peerId = '-qB4650-dumpprobe123'; // 20 bytes

/** One HTTP request from `clientIp` (bound locally), answering status and body. */
function call(
  url: string,
  o: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: o.method ?? 'GET',
        localAddress: clientIp,
        headers: { 'user-agent': userAgent, ...(o.headers ?? {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

/** Every row of every table in the public schema, as text (PGlite has no pg_dump). */
async function dumpTables(db: {
  query<T>(sql: string, p?: unknown[]): Promise<{ rows: T[] }>;
}): Promise<string> {
  const tables = await db.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
  );
  let out = '';
  for (const { table_name } of tables.rows) {
    const rows = await db.query<Record<string, unknown>>(`SELECT * FROM "${table_name}"`);
    out += `${table_name}\n${JSON.stringify(rows.rows, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v))}\n`;
  }
  return out;
}

const engines = [
  { name: 'pglite', skip: false },
  { name: 'postgres', skip: pg.skip || pgDump.skip },
];

for (const engine of engines) {
  describe.skipIf(engine.skip)(`a dump of the node's database on ${engine.name}`, () => {
    it('holds no salt, raw IP address, user agent or peer id after traffic', async () => {
      const dir = await scratchDir('no-salts-dump');
      const scratch = engine.name === 'postgres' ? await scratchPostgres('swarmcast_dump') : null;
      const node = await startNode({
        port: await freePort(),
        host: '127.0.0.1',
        dataDir: join(dir.path, 'node'),
        ...(scratch ? { databaseUrl: scratch.url } : {}),
      });
      try {
        const ep = (await latestEpisodes(node.db, 10)).find((e) => e.title === 'Welcome to Swarmcast')!;
        expect(ep?.media && ep.torrent).toBeTruthy();
        const base = node.url.replace(/\/$/, '');
        // An origin download (whole file), a probe, and an announce with our peer id.
        expect((await call(`${base}/media/${ep.media!.path}`)).status).toBe(200);
        expect(
          (await call(`${base}/media/${ep.media!.path}`, { headers: { range: 'bytes=0-1' } })).status,
        ).toBe(206);
        const hash = Buffer.from(ep.torrent!.infoHashV1, 'hex');
        const announce = `${base}/announce?info_hash=${[...hash].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')}&peer_id=${encodeURIComponent(peerId)}&port=6881&uploaded=0&downloaded=0&left=0&event=completed&compact=1`;
        // The node's own seeding engine announced first (it is in the answer's peer list)...
        let ourAnnounces = 1;
        await waitFor(
          async () => {
            ourAnnounces++;
            const r = await call(announce.replace('event=completed', 'event=started'));
            return Number(/5:peers(\d+):/.exec(r.body.toString('latin1'))?.[1] ?? 0) >= 6;
          },
          60_000,
          "the node's seeding engine in the swarm",
        );
        expect((await call(announce)).status).toBe(200);
        // Play beacons from the same listener.
        const beacon = (seq: number, event: string) =>
          call(`${base}/beacon/play`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              v: 1,
              sessionId: 'dump-session-1',
              seq,
              listenerId: null,
              episodeId: ep.id,
              event,
              positionMs: seq * 1000,
              durationMs: ep.durationMs,
              listenedMs: seq * 1000,
              bytesFromPeers: 0,
              bytesFromWebSeed: 0,
            }),
          });
        expect((await beacon(0, 'start')).status).toBe(204);
        expect((await beacon(1, 'progress')).status).toBe(204);
        const measure = node.services.measure;
        await waitFor(
          async () => {
            const r = await node.db.query<{ n: number }>(
              'SELECT (SELECT count(*) FROM measure_downloads)::int + (SELECT count(*) FROM measure_announces)::int + (SELECT count(*) FROM measure_play_events)::int AS n',
            );
            return Number(r.rows[0]!.n) >= 5 && (await measure.lag()) === 0;
          },
          60_000,
          'the facts and beacons to be stored',
        );

        // ... yet only our announces became facts: the node's own engine is not an audience.
        await waitFor(
          async () => (await node.db.query('SELECT 1 FROM measure_announces')).rows.length >= ourAnnounces,
          30_000,
          'our announces stored',
        );
        // Exactly ours (the engine announced too: without the exclusion there would be more).
        expect((await node.db.query('SELECT 1 FROM measure_announces')).rows.length).toBe(ourAnnounces);
        // The salt of today is in a file under the data dir, nowhere in the database.
        const saltDir = join(dir.path, 'node', 'salts');
        const files = await readdir(saltDir);
        expect(files.length).toBeGreaterThan(0);
        const salts = await Promise.all(files.map((f) => readFile(join(saltDir, f))));
        // The statement signing key: the public half published (and stored), the private half
        // only in its 0600 file under the data dir.
        const published = (await call(`${base}/.well-known/swarmcast-statements.json`)).body.toString();
        const keyFile = join(dir.path, 'node', statementKeyFile);
        expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
        const statementKey = JSON.parse(await readFile(keyFile, 'utf8')) as { x: string; d: string };
        expect(published).toContain(statementKey.x);
        const dump = scratch
          ? execFileSync('pg_dump', ['--no-owner', scratch.url], { maxBuffer: 256 * 1024 * 1024 }).toString(
              'latin1',
            )
          : await dumpTables(node.db);
        expect(dump.length).toBeGreaterThan(10_000);
        expect(dump).toContain('measure_downloads');
        const forbidden: [string, string][] = [
          ['raw IP', clientIp],
          ['user agent', 'privacy-marker-ua'],
          ['peer id', 'dumpprobe123'],
          ['peer id (hex)', Buffer.from(peerId).toString('hex')],
        ];
        for (const salt of salts) {
          forbidden.push(['salt (hex)', salt.toString('hex')]);
          forbidden.push(['salt (base64)', salt.toString('base64')]);
          forbidden.push(['salt (pg bytea)', `\\x${salt.toString('hex')}`]);
        }
        forbidden.push(['statement key (private half)', statementKey.d]);
        expect(dump).toContain(statementKey.x);
        for (const [what, needle] of forbidden) expect(dump.includes(needle), what).toBe(false);
        expect(dump).not.toContain('platform_daily_salts');
      } finally {
        await node.close();
        await scratch?.drop();
        await dir.remove();
      }
    }, 180_000);
  });
}

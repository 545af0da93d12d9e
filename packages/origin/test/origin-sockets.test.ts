import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinaries, scratchDir, waitFor } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, originFixture, settle } from './support.ts';

/** Real sockets on 127.0.0.1: what inject() cannot show (aborts, a real client). */
let f: Fixture;
let base: string;
const SIZE = 6 * 1024 * 1024;
beforeAll(async () => {
  f = await originFixture({ 'episode.mp3': SIZE });
  base = await f.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await f?.close();
});

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

describe('origin over real sockets', () => {
  it('serves a range to fetch() with CORS headers', async () => {
    const r = await fetch(`${base}/media/episode.mp3`, {
      headers: { range: 'bytes=100-199', origin: 'https://player.example' },
    });
    expect(r.status).toBe(206);
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    const body = Buffer.from(await r.arrayBuffer());
    expect(body.equals(f.files['episode.mp3']!.subarray(100, 200))).toBe(true);
  });

  it('records the bytes actually sent when the client goes away mid-download', async () => {
    f.facts.facts.length = 0;
    await new Promise<void>((resolve, reject) => {
      const req = request(
        `${base}/media/episode.mp3`,
        { headers: { 'user-agent': 'AntennaPod/3.2.0' } },
        (res) => {
          let got = 0;
          res.on('data', (chunk: Buffer) => {
            got += chunk.length;
            // Go away after the first few hundred KiB of a 6 MiB file.
            if (got > 256 * 1024) {
              req.destroy();
              resolve();
            }
          });
          res.on('error', () => {});
        },
      );
      req.on('error', () => {});
      req.on('close', () => resolve());
      req.end();
      setTimeout(() => reject(new Error('no data')), 10_000);
    });
    await waitFor(() => f.facts.facts.length === 1, 10_000, 'the fact of the aborted download');
    const fact = f.facts.facts[0]!;
    expect(fact.status).toBe(200);
    expect(fact.bytesSent).toBeGreaterThan(256 * 1024);
    expect(fact.bytesSent).toBeLessThan(SIZE);
    expect(fact.rangeStart).toBe(0);
    expect(fact.rangeEnd).toBe(fact.bytesSent - 1);
    expect(fact.client.app).toBe('AntennaPod');
  });

  /** Sends the path exactly as written: no client-side normalisation of dot segments. */
  const raw = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const u = new URL(base);
      const req = request({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
        let body = '';
        res.setEncoding('latin1');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });

  const hostile: string[] = [
    '/media/../package.json',
    '/media/../outside.mp3',
    '/media/%2e%2e/outside.mp3',
    '/media/%2E%2E/outside.mp3',
    '/media/.%2e/outside.mp3',
    '/media/show/../../outside.mp3',
    '/media/show/%2e%2e/%2e%2e/outside.mp3',
    '/media/./episode.mp3',
    '/media/..%2foutside.mp3',
    '/media/..%5coutside.mp3',
    '/media/escape.mp3',
    '/media/.secret',
    '/media/%2esecret',
  ];
  for (const path of hostile) {
    it(`refuses ${path} with a 4xx and no bytes from outside`, async () => {
      const r = await raw(path);
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(r.body).not.toContain('outside the root');
      expect(r.body).not.toContain('do not serve');
    });
  }

  const aria = requireBinaries('aria2c downloads from the origin', 'aria2c');
  it.skipIf(aria.skip)('lets aria2c download a file in parallel ranges, byte for byte', async () => {
    f.facts.facts.length = 0;
    const out = await scratchDir('swarmcast-aria-');
    try {
      await promisify(execFile)(
        'aria2c',
        [
          '--dir',
          out.path,
          '--out',
          'got.mp3',
          '--split=4',
          '--max-connection-per-server=4',
          '--min-split-size=1M',
          '--allow-overwrite=true',
          '--summary-interval=0',
          '--console-log-level=warn',
          `${base}/media/episode.mp3`,
        ],
        { timeout: 60_000 },
      );
      const got = await readFile(join(out.path, 'got.mp3'));
      expect(sha1(got)).toBe(sha1(f.files['episode.mp3']!));
      await settle();
      const bodies = f.facts.facts.filter((x) => x.bytesSent > 0);
      expect(bodies.some((x) => x.status === 206)).toBe(true);
      expect(bodies.every((x) => x.client.app === 'aria2')).toBe(true);
      // Every byte of the file was sent at least once across aria2's range requests.
      const covered = new Uint8Array(SIZE);
      for (const x of bodies) covered.fill(1, x.rangeStart!, x.rangeEnd! + 1);
      expect(covered.every((b) => b === 1)).toBe(true);
    } finally {
      await out.remove();
    }
  });

  const seedTools = requireBinaries(
    'aria2c fetches a torrent from the origin as a BEP 19 web seed',
    'aria2c',
    'mktorrent',
  );
  it.skipIf(seedTools.skip)(
    'serves as the web seed of a torrent that aria2c completes with no peers',
    async () => {
      f.facts.facts.length = 0;
      const work = await scratchDir('swarmcast-webseed-');
      try {
        const torrent = join(work.path, 'episode.torrent');
        await promisify(execFile)('mktorrent', [
          '-l',
          '18',
          '-w',
          `${base}/media/episode.mp3`,
          '-o',
          torrent,
          join(f.root, 'episode.mp3'),
        ]);
        await promisify(execFile)(
          'aria2c',
          [
            '--dir',
            join(work.path, 'dl'),
            '--seed-time=0',
            '--enable-dht=false',
            '--enable-dht6=false',
            '--bt-enable-lpd=false',
            '--enable-peer-exchange=false',
            '--bt-tracker-connect-timeout=1',
            '--summary-interval=0',
            '--console-log-level=warn',
            torrent,
          ],
          { timeout: 60_000 },
        );
        const got = await readFile(join(work.path, 'dl', 'episode.mp3'));
        expect(sha1(got)).toBe(sha1(f.files['episode.mp3']!));
        await settle();
        // The bytes came from us: aria2 verified every piece it fetched over HTTP ranges.
        const sent = f.facts.facts.reduce((n, x) => n + x.bytesSent, 0);
        expect(sent).toBeGreaterThanOrEqual(SIZE);
      } finally {
        await work.remove();
      }
    },
  );
});

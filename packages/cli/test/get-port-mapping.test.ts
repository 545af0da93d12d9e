import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { encodeBencode } from '@swarmcast/bittorrent';
import { dialTcp, downloadTorrent } from '@swarmcast/bittorrent/node';
import {
  createNatLab,
  type NatLab,
  natLabPrerequisite,
  requireBinaries,
  scratchDir,
} from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * A home behind a router running miniupnpd (NAT-PMP and UPnP IGD, nftables backend) in the
 * NAT lab: `swarmcast get --seed` in the home asks the router to forward its port, and a peer
 * on the public side dials the router's public address at that port and downloads. The router
 * drops every other unsolicited inbound connection (checked on a port nobody mapped).
 */
const lab0 = natLabPrerequisite();
const bins = requireBinaries('port mapping (miniupnpd as the home router)', '/usr/sbin/miniupnpd');
const bin = join(import.meta.dirname, '..', 'bin', 'swarmcast.js');

describe.skipIf(lab0.skip || bins.skip)('swarmcast get --seed behind a router with miniupnpd', () => {
  let lab: NatLab;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  beforeAll(async () => {
    dir = await scratchDir('swarmcast-upnp-');
    lab = await createNatLab([
      { nat: 'port-restricted', miniupnpd: true },
      { nat: 'port-restricted', miniupnpd: true },
      { nat: 'port-restricted', miniupnpd: true },
    ]);
  }, 60_000);
  afterAll(async () => {
    await lab?.close();
    await dir?.remove();
  }, 60_000);

  const ways = { natpmp: 'NAT-PMP', upnp: 'UPnP IGD', pcp: 'PCP' } as const;
  for (const [i, way] of (['natpmp', 'upnp', 'pcp'] as const).entries())
    it(`gets a mapped port by ${ways[way]} and is dialled from outside through it`, async () => {
      const home = lab.homes[i]!;
      const content = randomBytes(1_200_000);
      const pieceLength = 64 * 1024;
      const hashes: Buffer[] = [];
      for (let o = 0; o < content.length; o += pieceLength)
        hashes.push(
          createHash('sha1')
            .update(content.subarray(o, o + pieceLength))
            .digest(),
        );
      const info = {
        length: content.length,
        name: new TextEncoder().encode('ep.mp3'),
        'piece length': pieceLength,
        pieces: new Uint8Array(Buffer.concat(hashes)),
      };
      const torrent = encodeBencode({ info } as never);
      const torrentPath = join(dir.path, `ep-${way}.torrent`);
      await writeFile(torrentPath, torrent);
      const seedDir = join(dir.path, `home-${way}`);
      await mkdir(seedDir, { recursive: true });
      await writeFile(join(seedDir, 'ep.mp3'), content);

      const child = lab.spawnIn(home.ns, process.execPath, [
        bin,
        'get',
        torrentPath,
        '-o',
        seedDir,
        '--seed',
        '--port-mapping',
        way,
        '--json',
      ]);
      let err = '';
      child.stderr?.on('data', (d) => {
        err = (err + d).slice(-4000);
      });
      const events: Record<string, unknown>[] = [];
      let wake: () => void = () => {};
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
        try {
          events.push(JSON.parse(line));
        } catch {
          return;
        }
        wake();
      });
      const until = (pred: () => boolean, what: string) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`no ${what}: ${JSON.stringify(events)} ${err}`)),
            60_000,
          );
          const check = () => {
            if (pred()) {
              clearTimeout(timer);
              resolve();
            }
          };
          wake = check;
          child.once('exit', (code) => reject(new Error(`get exited ${code}: ${err}`)));
          check();
        });
      try {
        await until(
          () => events.some((e) => e.event === 'mapped') && events.some((e) => e.event === 'seeding'),
          'mapping',
        );
        const mapped = events.find((e) => e.event === 'mapped' && e.protocol === 'tcp') as {
          host: string;
          externalPort: number;
          port: number;
          method: string;
        };
        expect(mapped.host).toBe(home.publicIp);
        expect(mapped.method).toBe(way);
        expect(mapped.externalPort).toBeGreaterThan(0);

        // The router forwards only what was mapped: another port of its public address is closed.
        const closed = await dialTcp(
          home.publicIp,
          mapped.externalPort === 65535 ? 65534 : mapped.externalPort + 1,
          {
            timeoutMs: 3_000,
          },
        );
        expect(closed.ok).toBe(false);

        const out = join(dir.path, `outside-${way}`);
        const h = await downloadTorrent({
          torrent,
          dir: out,
          host: lab.publicIp,
          encryption: 'off',
          webSeeds: false,
          peers: [{ host: home.publicIp, port: mapped.externalPort }],
        });
        try {
          await new Promise<void>((r) => (h.session.isDone ? r() : h.session.on('done', () => r())));
          expect((await readFile(join(out, 'ep.mp3'))).equals(content)).toBe(true);
        } finally {
          await h.close();
        }
      } finally {
        child.kill('SIGTERM');
      }
    }, 120_000);
});

/**
 * Real clients through our tracker: aria2c seeds, and aria2c, qBittorrent and Transmission
 * each download a fresh file, over HTTP and over UDP announces. They can only find each
 * other through the tracker (DHT, LPD and PEX are off). Transmission never dials loopback
 * peers (INTEROP.md), so the aria2 seeder, re-announcing every second, dials it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, requireBinaries, scratchDir, waitFor } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningTracker, runStandaloneTracker } from '../src/standalone.ts';
import {
  aria2Downloader,
  aria2Seeder,
  type ClientHandle,
  makeTorrent,
  qbittorrentDownloader,
  sameContent,
  transmissionDownloader,
} from './helpers/clients.ts';

const clients = requireBinaries(
  'tracker interop with real clients',
  'aria2c',
  'mktorrent',
  'qbittorrent-nox',
  'transmission-daemon',
  'transmission-remote',
);

type Downloader = 'aria2c' | 'qbittorrent-nox' | 'transmission-daemon';
const cases: Array<[Downloader, 'http' | 'udp']> = [
  ['aria2c', 'http'],
  ['aria2c', 'udp'],
  ['qbittorrent-nox', 'http'],
  ['qbittorrent-nox', 'udp'],
  ['transmission-daemon', 'http'],
  ['transmission-daemon', 'udp'],
];

describe.skipIf(clients.skip)('real clients find each other through our tracker', () => {
  let tracker: RunningTracker;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  const running: ClientHandle[] = [];
  /** "<transport> <peer id prefix>" of every announce the tracker accepted. */
  const seen = new Set<string>();
  const prefix: Record<Downloader, string> = {
    aria2c: 'A2-',
    'qbittorrent-nox': '-qB',
    'transmission-daemon': '-TR',
  };
  beforeAll(async () => {
    dir = await scratchDir('swarmcast-tracker-interop-');
    tracker = await runStandaloneTracker({
      port: await freePort(),
      host: '127.0.0.1',
      rateLimit: null,
      observer: {
        observe: (o) =>
          seen.add(
            `${o.request.transport} ${Buffer.from(o.request.peerId).subarray(0, 3).toString('latin1')}`,
          ),
      },
    });
  });
  afterAll(async () => {
    await Promise.all(running.map((c) => c.stop()));
    await tracker?.close();
    await dir?.remove();
  });

  it.each(cases)(
    'aria2c seeds, %s downloads, announcing over %s',
    async (downloader, dialect) => {
      const name = `${downloader}-${dialect}`;
      const base = join(dir.path, name);
      const seedDir = join(base, 'seed');
      const getDir = join(base, 'get');
      await mkdir(seedDir, { recursive: true });
      await mkdir(getDir, { recursive: true });
      const data = randomBytes(2 * 1024 * 1024 + 12_345);
      const fileName = `${name}.bin`;
      await writeFile(join(seedDir, fileName), data);
      const announce =
        dialect === 'http'
          ? `http://127.0.0.1:${tracker.port}/announce`
          : `udp://127.0.0.1:${tracker.port}/announce`;
      const torrent = join(base, `${name}.torrent`);
      await makeTorrent(join(seedDir, fileName), announce, torrent);

      const seeder = await aria2Seeder(torrent, seedDir);
      running.push(seeder);
      let getter: ClientHandle;
      if (downloader === 'aria2c') getter = await aria2Downloader(torrent, getDir);
      else if (downloader === 'qbittorrent-nox')
        getter = await qbittorrentDownloader(torrent, getDir, join(base, 'qbt'));
      else getter = await transmissionDownloader(torrent, getDir, join(base, 'tr'));
      running.push(getter);
      try {
        await waitFor(
          () => sameContent(join(getDir, fileName), data),
          60_000,
          `${downloader} to complete`,
          250,
        );
      } catch (err) {
        throw new Error(
          `${String(err)}\n--- seeder ---\n${seeder.log()}\n--- ${getter.name} ---\n${getter.log()}`,
        );
      }
      const announces = tracker.tracker.metrics.announces[dialect];
      expect(announces).toBeGreaterThanOrEqual(2);
      await Promise.all([getter.stop(), seeder.stop()]);
    },
    90_000,
  );

  it('saw announces from every client family over both dialects', async () => {
    const m = tracker.tracker.metrics;
    expect(m.announces.http).toBeGreaterThan(3);
    expect(m.announces.udp).toBeGreaterThan(3);
    expect(m.udpConnects.count).toBeGreaterThan(0);
  });
});

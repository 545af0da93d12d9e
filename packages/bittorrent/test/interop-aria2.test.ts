import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, requireBinaries, scratchDir, waitFor } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadTorrent, seedTorrent, type TorrentHandle } from '../src/node/api.ts';
import { makeV1Torrent } from './torrent-files.ts';

const p = requireBinaries('aria2 interop', 'aria2c');

/** aria2c on loopback only: no DHT, LPD or PEX, so every peer is one we arranged. */
function aria2(args: string[], cwd: string): ChildProcess {
  return spawn(
    'aria2c',
    [
      '--enable-dht=false',
      '--enable-dht6=false',
      '--bt-enable-lpd=false',
      '--enable-peer-exchange=false',
      '--interface=127.0.0.1',
      '--summary-interval=0',
      '--console-log-level=warn',
      '--file-allocation=none',
      ...args,
    ],
    { cwd, stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

describe.skipIf(p.skip)('interop with aria2c', () => {
  let dir: { path: string; remove(): Promise<void> };
  const children: ChildProcess[] = [];
  const handles: TorrentHandle[] = [];
  beforeAll(async () => {
    dir = await scratchDir('swarmcast-aria2-');
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await Promise.all(handles.map((h) => h.close()));
    await dir.remove();
  });

  it('aria2c seeds, we download byte for byte', async () => {
    const src = join(dir.path, 'a-src');
    const t = await makeV1Torrent(
      src,
      'show',
      [
        { path: ['ep1.mp3'], length: 1_500_000 },
        { path: ['art', 'cover.jpg'], length: 33_333 },
        { path: ['ep2.mp3'], length: 2_100_000 },
      ],
      256 * 1024,
    );
    const port = await freePort();
    const seeder = aria2(
      ['--check-integrity=true', '--seed-ratio=0.0', `--listen-port=${port}`, `--dir=${src}`, t.torrentPath],
      src,
    );
    children.push(seeder);
    // aria2c checks the data before it accepts peers; retry dialing until it does.
    const out = join(dir.path, 'a-out');
    const leech = await downloadTorrent({
      torrent: t.torrent,
      dir: out,
      host: '127.0.0.1',
      peers: [{ host: '127.0.0.1', port }],
    });
    handles.push(leech);
    await waitFor(
      () => {
        if (!leech.session.isDone && leech.stats().peers === 0)
          leech.session.addPeers([{ host: '127.0.0.1', port }]);
        return leech.session.isDone;
      },
      45_000,
      'download from aria2c',
      300,
    );
    const got = Buffer.concat([
      await readFile(join(out, 'show', 'ep1.mp3')),
      await readFile(join(out, 'show', 'art', 'cover.jpg')),
      await readFile(join(out, 'show', 'ep2.mp3')),
    ]);
    expect(got.equals(t.content)).toBe(true);
    await leech.close();
    seeder.kill('SIGKILL');
  });

  it('we seed, aria2c downloads byte for byte (our seeder dials it, before it listens)', async () => {
    const src = join(dir.path, 'b-src');
    const t = await makeV1Torrent(src, 'episode.mp4', [{ path: [], length: 3_000_001 }], 64 * 1024);
    const port = await freePort();
    // The seeder is told of aria2c before aria2c runs (a leecher without a tracker only
    // listens): the first dials are refused and the peer set's back-off must bring it back.
    const seed = await seedTorrent({
      torrent: t.torrentPath,
      dataPath: t.dataPath,
      host: '127.0.0.1',
      peers: [{ host: '127.0.0.1', port }],
    });
    handles.push(seed);
    // Let a few dials fail first, so the retry is what connects.
    await new Promise((r) => setTimeout(r, 1500));
    expect(seed.stats().peers).toBe(0);
    const out = join(dir.path, 'b-out');
    const leecher = aria2(
      ['--seed-time=0', `--listen-port=${port}`, `--dir=${out}`, t.torrentPath],
      dir.path,
    );
    children.push(leecher);
    let stderr = '';
    leecher.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((r) => leecher.once('exit', (code) => r(code)));
    let code: number | null | undefined;
    void exited.then((c) => {
      code = c;
    });
    await waitFor(() => code !== undefined, 60_000, 'aria2c to finish', 200);
    expect(code, stderr).toBe(0);
    expect((await readFile(join(out, 'episode.mp4'))).equals(t.content)).toBe(true);
    expect(seed.stats().uploaded).toBeGreaterThanOrEqual(t.content.length);
  }, 90_000);
});

import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, requireBinaries, scratchDir, waitFor } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTorrent, toHex, v1OnlyTorrent } from '../src/index.ts';
import { createTorrent, nodeHasher, seedTorrent, type TorrentHandle } from '../src/node/index.ts';
import { prng, randomBytes } from './prng.ts';

const p = requireBinaries('aria2 hybrid interop', 'aria2c');
const exec = promisify(execFile);

/** The info-hash aria2c computes for a .torrent (`aria2c -S` prints it). */
async function aria2InfoHash(torrentPath: string): Promise<string> {
  const { stdout } = await exec('aria2c', ['-S', torrentPath]);
  const m = /^Info Hash: ([0-9a-f]{40})$/m.exec(stdout);
  if (!m) throw new Error(`no info hash in aria2c -S output:\n${stdout}`);
  return m[1]!;
}

describe.skipIf(p.skip)('aria2 and hybrid torrents', () => {
  let dir: { path: string; remove(): Promise<void> };
  const handles: TorrentHandle[] = [];
  beforeAll(async () => {
    dir = await scratchDir('swarmcast-aria2-hybrid-');
  });
  afterAll(async () => {
    await Promise.all(handles.map((h) => h.close()));
    await dir.remove();
  });

  it('aria2 mis-hashes a hybrid torrent; the derived v1-only torrent hashes right and downloads byte for byte', async () => {
    const src = join(dir.path, 'show');
    await mkdir(join(src, 'art'), { recursive: true });
    const rand = prng(7);
    const files: [string, Uint8Array][] = [
      ['ep1.mp3', randomBytes(rand, 300_001)],
      ['art/cover.jpg', randomBytes(rand, 20_000)],
      ['ep2.mp3', randomBytes(rand, 250_000)],
    ];
    for (const [rel, data] of files) await writeFile(join(src, rel), data);
    const made = await createTorrent(src, { version: 'hybrid', pieceLength: 32 * 1024 });
    if (!made.ok) throw new Error(made.error.message);
    const hybridPath = join(dir.path, 'hybrid.torrent');
    await writeFile(hybridPath, made.value.torrent);
    const hybrid = await parseTorrent(made.value.torrent, nodeHasher);
    if (!hybrid.ok) throw new Error(hybrid.error.message);

    // The known aria2 1.36 bug: it drops the "" leaf keys of the v2 `file tree` when it
    // re-encodes the info dict, so its info-hash is not the torrent's. If this ever passes
    // with an equal hash, aria2 was fixed and hybrids can go to it as they are.
    const { stdout: version } = await exec('aria2c', ['--version']);
    const seen = await aria2InfoHash(hybridPath);
    if (/aria2 version 1\.36\./.test(version)) expect(seen).not.toBe(toHex(hybrid.value.infoHash.v1!));

    const derived = v1OnlyTorrent(hybrid.value);
    if (!derived.ok) throw new Error(derived.error.message);
    const v1Path = join(dir.path, 'v1.torrent');
    await writeFile(v1Path, derived.value);
    const v1 = await parseTorrent(derived.value, nodeHasher);
    if (!v1.ok) throw new Error(v1.error.message);
    expect(await aria2InfoHash(v1Path)).toBe(toHex(v1.value.infoHash.v1!));

    // The same data on disk seeds the v1-only torrent (same pieces, same pad layout).
    const seed = await seedTorrent({ torrent: derived.value, dataPath: src, host: '127.0.0.1' });
    handles.push(seed);
    expect(seed.session.isDone).toBe(true);
    const out = join(dir.path, 'out');
    const port = await freePort();
    const child = spawn(
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
        '--seed-time=0',
        `--listen-port=${port}`,
        `--dir=${out}`,
        v1Path,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    let code: number | null | undefined;
    child.once('exit', (c) => {
      code = c;
    });
    try {
      seed.session.addPeers([{ host: '127.0.0.1', port }]);
      await waitFor(() => code !== undefined, 60_000, 'aria2c to finish', 200);
    } finally {
      if (code === undefined) child.kill('SIGKILL');
    }
    expect(code, stderr).toBe(0);
    for (const [rel, data] of files)
      expect((await readFile(join(out, 'show', rel))).equals(Buffer.from(data))).toBe(true);
  }, 90_000);
});

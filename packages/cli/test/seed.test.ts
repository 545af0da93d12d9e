import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { encodeBencode } from '@swarmcast/bittorrent';
import {
  requireBinaries,
  scratchDir,
  type TransmissionDaemon,
  transmissionDaemon,
  waitFor,
} from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandIo } from '../src/command.ts';
import { main } from '../src/main.ts';

const p = requireBinaries('swarmcast seed -> Transmission', 'transmission-daemon', 'transmission-remote');

let dir: Awaited<ReturnType<typeof scratchDir>>;
const daemons: TransmissionDaemon[] = [];
beforeAll(async () => {
  dir = await scratchDir('swarmcast-cli-seed-');
});
afterAll(async () => {
  await Promise.all(daemons.map((d) => d.stop()));
  await dir?.remove();
});

describe.skipIf(p.skip)('swarmcast seed --peer', () => {
  it('dials a Transmission that never dials us; it downloads byte for byte; Ctrl-C stops with exit 0', async () => {
    const src = join(dir.path, 'src');
    await mkdir(src, { recursive: true });
    const content = randomBytes(1_500_000);
    await writeFile(join(src, 'ep.mp3'), content);
    const pieceLength = 32 * 1024;
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
    const torrentPath = join(dir.path, 'ep.torrent');
    await writeFile(torrentPath, encodeBencode({ info } as never));

    const tr = await transmissionDaemon(join(dir.path, 'tr'));
    daemons.push(tr);
    await tr.add(torrentPath);

    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (c) => (out += c));
    stderr.on('data', (c) => (err += c));
    const stop = new AbortController();
    const io: CommandIo = { stdout, stderr, env: {}, signal: stop.signal };
    const running = main(
      ['seed', torrentPath, join(src, 'ep.mp3'), '--peer', `127.0.0.1:${tr.peerPort}`, '--json'],
      io,
    );
    const done = join(tr.downloadDir, 'ep.mp3');
    await waitFor(
      async () => (await readFile(done).catch(() => undefined))?.length === content.length,
      120_000,
      `Transmission to finish\n${tr.log()}`,
      500,
    );
    expect((await readFile(done)).equals(content)).toBe(true);
    stop.abort();
    expect(await running).toBe(0);
    expect(err).toBe('');
    const events = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { event: string; uploaded?: number });
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['seeding', 'stopped']));
    expect(events.find((e) => e.event === 'stopped')?.uploaded).toBeGreaterThanOrEqual(content.length);
  }, 180_000);
});

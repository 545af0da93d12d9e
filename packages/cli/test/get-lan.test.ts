import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { encodeBencode } from '@swarmcast/bittorrent';
import { createNatLab, type NatLab, natLabPrerequisite, scratchDir } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandIo } from '../src/command.ts';
import { main } from '../src/main.ts';

/**
 * Two `swarmcast get` peers on one LAN segment (the NAT lab's public bridge: one in the lab's
 * public namespace, one in this process on the veth into it) with no tracker, no DHT and no
 * --peer: they find each other by Local Service Discovery (BEP 14 multicast) alone, and trade
 * over uTP only (--utp-only), so the bytes cross the LAN as UDP.
 */
const lab0 = natLabPrerequisite();
const bin = join(import.meta.dirname, '..', 'bin', 'swarmcast.js');

describe.skipIf(lab0.skip)('swarmcast get --lsd on a LAN', () => {
  let lab: NatLab;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  beforeAll(async () => {
    dir = await scratchDir('swarmcast-lan-');
    lab = await createNatLab([{ nat: 'port-restricted' }]);
  }, 60_000);
  afterAll(async () => {
    await lab?.close();
    await dir?.remove();
  }, 60_000);

  it('a seeding get in one namespace and a downloading get here meet by LSD and trade over uTP', async () => {
    // A torrent with no announce URL and no web seed: peers can only come from the LAN.
    const content = randomBytes(1_500_000);
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
    const torrentPath = join(dir.path, 'ep.torrent');
    await writeFile(torrentPath, encodeBencode({ info } as never));
    const seedDir = join(dir.path, 'a');
    await mkdir(seedDir, { recursive: true });
    await writeFile(join(seedDir, 'ep.mp3'), content);

    // Peer A: already has the data; `get --seed` checks it and stays to seed.
    const a = lab.spawnIn(lab.publicNs, process.execPath, [
      bin,
      'get',
      torrentPath,
      '-o',
      seedDir,
      '--seed',
      '--lsd',
      '--utp-only',
      '--host',
      lab.serviceIp,
      '--json',
    ]);
    let aErr = '';
    a.stderr?.on('data', (d) => {
      aErr = (aErr + d).slice(-4000);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`peer A never seeded: ${aErr}`)), 60_000);
        a.once('exit', (code) => reject(new Error(`peer A exited ${code}: ${aErr}`)));
        createInterface({ input: a.stdout as NodeJS.ReadableStream }).on('line', (line) => {
          if (line.includes('"event":"seeding"')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });

      // Peer B: this process, on its leg of the same segment.
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let out = '';
      let err = '';
      stdout.on('data', (c) => (out += c));
      stderr.on('data', (c) => (err += c));
      const io: CommandIo = { stdout, stderr, env: {}, signal: new AbortController().signal };
      const leechDir = join(dir.path, 'b');
      const code = await main(
        [
          'get',
          torrentPath,
          '-o',
          leechDir,
          '--lsd',
          '--utp-only',
          '--host',
          lab.publicIp,
          '--json',
          '--timeout',
          '60',
        ],
        io,
      );
      expect(err).toBe('');
      expect(code).toBe(0);
      expect(out).toContain('"event":"done"');
      expect((await readFile(join(leechDir, 'ep.mp3'))).equals(content)).toBe(true);
    } finally {
      a.kill('SIGTERM');
    }
  }, 120_000);
});

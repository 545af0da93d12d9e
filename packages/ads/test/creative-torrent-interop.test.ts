/**
 * A creative's torrent works with a real client: aria2c, given only the .torrent we serve,
 * downloads the ad from its web seed (our media URL) over a real socket, byte for byte.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { systemClock } from '@swarmcast/platform';
import { freePort, requireBinaries, scratchDir } from '@swarmcast/testkit';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { adsPlugin, generateSigningKey, keyRing } from '../src/index.ts';
import { episode, episodeLookup } from './helpers.ts';

const aria = requireBinaries('creative torrent via aria2c', 'aria2c');
const mp3 = readFileSync(join(import.meta.dirname, 'fixtures/ad-15s.mp3'));
const children: ChildProcess[] = [];
let app: FastifyInstance | undefined;
const dirs: Array<{ remove(): Promise<void> }> = [];

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await app?.close();
  for (const d of dirs) await d.remove();
});

describe.skipIf(aria.skip)('creative torrents with aria2c', () => {
  it('aria2c downloads the creative from the web seed alone', async () => {
    const media = await scratchDir('ads-interop-media-');
    const out = await scratchDir('ads-interop-aria-');
    dirs.push(media, out);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    app = Fastify();
    await app.register(adsPlugin, {
      episodes: episodeLookup([episode()]),
      keys: () => keyRing(generateSigningKey('k')),
      clock: systemClock,
      publicUrl: base,
      mediaDir: media.path,
      adminToken: 'a',
    });
    await app.listen({ port, host: '127.0.0.1' });
    const adv = await (
      await fetch(`${base}/ads/api/advertisers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer a' },
        body: JSON.stringify({ name: 'a' }),
      })
    ).json();
    const cr = await (
      await fetch(`${base}/ads/api/creatives?advertiser=${adv.id}&name=spot`, {
        method: 'POST',
        headers: { 'content-type': 'audio/mpeg', authorization: 'Bearer a' },
        body: mp3,
      })
    ).json();
    const torrentPath = join(out.path, 'ad.torrent');
    writeFileSync(torrentPath, Buffer.from(await (await fetch(cr.torrent.torrentUrl)).arrayBuffer()));
    const child = spawn(
      'aria2c',
      [
        '--dir',
        out.path,
        '--seed-time=0',
        '--enable-dht=false',
        '--enable-dht6=false',
        '--bt-enable-lpd=false',
        '--enable-peer-exchange=false',
        '--interface=127.0.0.1',
        '--console-log-level=warn',
        '--summary-interval=0',
        '--bt-stop-timeout=60',
        '--file-allocation=none',
        torrentPath,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let log = '';
    child.stdout?.on('data', (c) => (log += c));
    child.stderr?.on('data', (c) => (log += c));
    const code = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.once('exit', (c) => {
        clearTimeout(t);
        resolve(c);
      });
    });
    expect(code, log).toBe(0);
    const got = await readFile(join(out.path, `${cr.id}.mp3`));
    expect(got.equals(mp3)).toBe(true);
  });
});

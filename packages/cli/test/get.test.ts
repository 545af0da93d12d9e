import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { encodeBencode } from '@swarmcast/bittorrent';
import { seedTorrent, type TorrentHandle } from '@swarmcast/bittorrent/node';
import { fileServer, scratchDir, waitFor } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandIo } from '../src/command.ts';
import { main } from '../src/main.ts';

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const text = { out: '', err: '' };
  stdout.on('data', (c) => (text.out += c));
  stderr.on('data', (c) => (text.err += c));
  const stop = new AbortController();
  const value: CommandIo = { stdout, stderr, env: {}, signal: stop.signal };
  return { value, text, stop };
}

/** Random files and their v1 .torrent, hashed here with node:crypto (independent of the engine). */
async function torrentOf(root: string, name: string, length: number, pieceLength: number, urlList?: string) {
  await mkdir(root, { recursive: true });
  const content = randomBytes(length);
  await writeFile(join(root, name), content);
  const hashes: Buffer[] = [];
  for (let o = 0; o < length; o += pieceLength)
    hashes.push(
      createHash('sha1')
        .update(content.subarray(o, o + pieceLength))
        .digest(),
    );
  const enc = (s: string) => new TextEncoder().encode(s);
  const info = {
    length,
    name: enc(name),
    'piece length': pieceLength,
    pieces: new Uint8Array(Buffer.concat(hashes)),
  };
  const top: Record<string, unknown> = { info };
  if (urlList) top['url-list'] = enc(urlList);
  const torrent = encodeBencode(top as never);
  const torrentPath = join(root, `${name}.torrent`);
  await writeFile(torrentPath, torrent);
  const infoHash = createHash('sha1')
    .update(encodeBencode(info as never))
    .digest('hex');
  return { content, torrent, torrentPath, infoHash, dataPath: join(root, name) };
}

const events = (out: string) =>
  out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event: string } & Record<string, unknown>);

let dir: Awaited<ReturnType<typeof scratchDir>>;
const closers: (() => Promise<void>)[] = [];
beforeAll(async () => {
  dir = await scratchDir('swarmcast-cli-get-');
});
afterAll(async () => {
  for (const c of closers.reverse()) await c().catch(() => {});
  await dir?.remove();
});

async function seed(
  t: { torrent: Uint8Array; dataPath: string },
  uploadRateLimit?: number,
): Promise<TorrentHandle> {
  const h = await seedTorrent({
    torrent: t.torrent,
    dataPath: t.dataPath,
    host: '127.0.0.1',
    ...(uploadRateLimit ? { uploadRateLimit } : {}),
  });
  closers.push(() => h.close());
  return h;
}

describe('swarmcast get', () => {
  it('downloads a bare magnet link (metadata from the peer first) and exits 0', async () => {
    const t = await torrentOf(join(dir.path, 'm-src'), 'ep.mp3', 700_000, 32 * 1024);
    const s = await seed(t);
    const { value, text } = io();
    const out = join(dir.path, 'm-out');
    const code = await main(
      [
        'get',
        `magnet:?xt=urn:btih:${t.infoHash}`,
        '-o',
        out,
        '--peer',
        `127.0.0.1:${s.port}`,
        '--host',
        '127.0.0.1',
        '--json',
        '--timeout',
        '60',
      ],
      value,
    );
    expect(text.err).toBe('');
    expect(code).toBe(0);
    expect((await readFile(join(out, 'ep.mp3'))).equals(t.content)).toBe(true);
    expect(events(text.out).map((e) => e.event)).toEqual(
      expect.arrayContaining(['metadata', 'started', 'done']),
    );
  });

  it('downloads from a plain HTTP server as the only source (web seed), the .torrent itself fetched over http', async () => {
    const root = join(dir.path, 'w-src');
    await mkdir(root, { recursive: true });
    const www = await fileServer(root);
    closers.push(() => www.close());
    // A folder URL (ending in "/"): the client appends the file name (BEP 19).
    const t = await torrentOf(root, 'ep.mp3', 600_001, 32 * 1024, www.url);
    const { value, text } = io();
    const out = join(dir.path, 'w-out');
    const code = await main(
      ['get', `${www.url}ep.mp3.torrent`, '-o', out, '--host', '127.0.0.1', '--timeout', '60', '--json'],
      value,
    );
    expect(text.err).toBe('');
    expect(code).toBe(0);
    expect((await readFile(join(out, 'ep.mp3'))).equals(t.content)).toBe(true);
    expect(www.requests).toBeGreaterThan(1);

    // The same without web seeds has no source at all: it times out with exit 1.
    const again = io();
    const none = await main(
      [
        'get',
        t.torrentPath,
        '-o',
        join(dir.path, 'w-none'),
        '--no-webseeds',
        '--host',
        '127.0.0.1',
        '--timeout',
        '1.5',
      ],
      again.value,
    );
    expect(none).toBe(1);
    expect(again.text.err).toContain('timed out with 0/');
  });

  it('--stream serves ranges of the file while it downloads, byte for byte, before the download ends', async () => {
    const size = 3_000_000;
    const t = await torrentOf(join(dir.path, 's-src'), 'show.mp3', size, 32 * 1024);
    // A slow seed (about 7.5 s for the whole file) so the ranges are asked mid-download.
    const s = await seed(t, 400_000);
    const { value, text, stop } = io();
    const out = join(dir.path, 's-out');
    const running = main(
      [
        'get',
        `magnet:?xt=urn:btih:${t.infoHash}&x.pe=127.0.0.1:${s.port}`,
        '-o',
        out,
        '--stream',
        '0',
        '--host',
        '127.0.0.1',
        '--json',
        '--timeout',
        '120',
      ],
      value,
    );
    const streaming = await waitFor(
      () =>
        events(text.out).find((e) => e.event === 'streaming') as
          | { url: string; files: { url: string }[] }
          | undefined,
      30_000,
      'the stream server to start',
      50,
    );
    if (!streaming) throw new Error('no streaming event');
    const fileUrl = streaming.files[0]!.url;
    expect(fileUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/files\/0\/show\.mp3$/);
    const isDone = () => events(text.out).some((e) => e.event === 'done');

    // The end of the file first, as a player reading an index at the end would.
    const tail = await fetch(fileUrl, { headers: { range: 'bytes=-100000' } });
    expect(tail.status).toBe(206);
    expect(tail.headers.get('content-range')).toBe(`bytes ${size - 100_000}-${size - 1}/${size}`);
    expect(Buffer.from(await tail.arrayBuffer()).equals(t.content.subarray(size - 100_000))).toBe(true);
    // Deadlines put those pieces first: they came while most of the file was still missing.
    expect(isDone()).toBe(false);

    const mid = await fetch(fileUrl, { headers: { range: 'bytes=1000000-1065535' } });
    expect(mid.status).toBe(206);
    expect(Buffer.from(await mid.arrayBuffer()).equals(t.content.subarray(1_000_000, 1_065_536))).toBe(true);

    const bad = await fetch(fileUrl, { headers: { range: `bytes=${size}-` } });
    expect(bad.status).toBe(416);
    expect(bad.headers.get('content-range')).toBe(`bytes */${size}`);
    await bad.arrayBuffer();
    expect((await fetch(streaming.url.replace(/\/$/, '/files/7/x'))).status).toBe(404);

    const whole = await fetch(fileUrl);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await whole.arrayBuffer()).equals(t.content)).toBe(true);

    await waitFor(isDone, 60_000, 'the download to finish', 100);
    stop.abort();
    expect(await running).toBe(0);
    expect((await readFile(join(out, 'show.mp3'))).equals(t.content)).toBe(true);
  }, 120_000);

  it('refuses bad options with exit 2', async () => {
    for (const args of [
      ['get', 'x.torrent'],
      ['get', 'x.torrent', '-o', 'd', '--stream', 'abc'],
      ['get', 'x.torrent', '-o', 'd', '--dht', 'nohostport'],
      ['get', 'x.torrent', '-o', 'd', '--timeout', '0'],
    ]) {
      const { value } = io();
      expect(await main(args, value), args.join(' ')).toBe(2);
    }
  });

  it('exits 1 with the code of a malformed magnet link', async () => {
    const { value, text } = io();
    expect(await main(['get', 'magnet:?xt=urn:btih:zz', '-o', join(dir.path, 'bad')], value)).toBe(1);
    expect(text.err).toContain('BT_MAGNET_BAD_HASH');
  });
});

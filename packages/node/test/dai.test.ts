/**
 * Dynamic ad insertion on a whole node, as a podcast app sees it: the feed's enclosure of an
 * MP3 episode with ad breaks is the stitched file; a probe, ranged chunks and a resume after
 * a dropped connection assemble exactly one full GET of the listener's plan; the file decodes
 * cleanly with the ads in; another listener gets another plan; chapters move with the ads.
 */

import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { createAccount, getEpisode, setTranscript, takeDownEpisode } from '@swarmcast/catalog';
import { requireBinaries, scratchDir, waitFor } from '@swarmcast/testkit';
import Parser from 'rss-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNode, startNode } from '../src/index.ts';
import { decodeErrors, probeDuration } from './dai-support.ts';

const tools = await requireBinaries('stitched enclosure decoding', 'ffmpeg', 'ffprobe');
const apple = 'AppleCoreMedia/1.0.0.20E247 (iPhone; U; CPU OS 16_4 like Mac OS X; en_us)';
const overcast = 'Overcast/3.0 (+http://overcast.fm/; iOS podcast app)';

describe.skipIf(tools.skip)('stitched enclosures on a node', () => {
  let node: RunningNode;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let items: Parser.Item[];

  beforeAll(async () => {
    dir = await scratchDir();
    node = await startNode({
      port: 0,
      host: '127.0.0.1',
      // The node's own codec (the media layer's prepareAd: npm WebAssembly/JS, no ffmpeg).
      dataDir: join(dir.path, 'node'),
    });
    await node.services.warmDai();
    await node.services.dai!.preparedIdle();
    const parser = new Parser();
    items = (await parser.parseURL(new URL('/shows/swarmcast-demo/feed.xml', node.url).toString())).items;
  }, 120_000);
  afterAll(async () => {
    await node?.close();
    await dir?.remove();
  });

  const item = (title: string) => items.find((i) => i.title === title)!;
  const get = async (url: string, headers: Record<string, string> = {}) => {
    const res = await fetch(url, { headers: { 'user-agent': apple, ...headers } });
    return { res, body: Buffer.from(await res.arrayBuffer()) };
  };

  it('points enclosures of MP3 episodes with breaks at the stitched URL, the others at the plain file', () => {
    expect(item('Welcome to Swarmcast').enclosure!.url).toMatch(/\/dai\/[A-Za-z0-9_-]+\.mp3$/);
    expect(item('How the swarm works').enclosure!.url).toMatch(/\/dai\/[A-Za-z0-9_-]+\.mp3$/);
    expect(item('A short video episode').enclosure!.url).toMatch(/\/media\//);
  });

  it('probe, chunks and a resume after a dropped connection give one full GET of the plan, byte for byte', async () => {
    const url = item('Welcome to Swarmcast').enclosure!.url;
    const probe = await get(url, { range: 'bytes=0-1' });
    expect(probe.res.status).toBe(206);
    const total = Number(probe.res.headers.get('content-range')!.split('/')[1]);
    const etag = probe.res.headers.get('etag')!;
    expect(etag).toMatch(/^"dai-/);
    expect(probe.res.headers.get('x-swarmcast-dai')).toMatch(/^plan=/);

    // First chunk, then a connection dropped mid-body, then a resume from what arrived.
    const chunk = Math.ceil(total / 3);
    const first = await get(url, { range: `bytes=0-${chunk - 1}`, 'if-range': etag });
    expect(first.res.status).toBe(206);
    const partial = await new Promise<Buffer>((resolve, reject) => {
      const u = new URL(url);
      const req = request(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          headers: { 'user-agent': apple, range: `bytes=${chunk}-` },
        },
        (res) => {
          const got: Buffer[] = [];
          let n = 0;
          res.on('data', (c: Buffer) => {
            got.push(c);
            n += c.length;
            if (n >= 5000) {
              req.destroy();
              resolve(Buffer.concat(got));
            }
          });
          res.on('end', () => resolve(Buffer.concat(got)));
        },
      );
      req.on('error', (err) => (err.message.includes('aborted') ? undefined : reject(err)));
      req.end();
    });
    expect(partial.length).toBeGreaterThan(0);
    const resumeFrom = chunk + partial.length;
    const rest = await get(url, { range: `bytes=${resumeFrom}-`, 'if-range': etag });
    expect(rest.res.status).toBe(206);
    const assembled = Buffer.concat([first.body, partial, rest.body]);

    const full = await get(url);
    expect(full.res.status).toBe(200);
    expect(full.res.headers.get('etag')).toBe(etag);
    expect(Number(full.res.headers.get('content-length'))).toBe(total);
    expect(assembled.length).toBe(total);
    expect(assembled.equals(full.body)).toBe(true);

    // A valid MP3: clean decode, duration = content + three house ads (pre, mid, post), within a frame or two.
    const file = join(dir.path, 'stitched.mp3');
    await writeFile(file, full.body);
    expect(await decodeErrors(file)).toBe('');
    const seconds = await probeDuration(file);
    expect(seconds).toBeGreaterThan(16.4 + 3 * 6.0 - 0.2);
    expect(seconds).toBeLessThan(16.5 + 3 * 6.1 + 0.2);
  });

  it('gives another listener (another user agent) its own plan; the same listener keeps its own', async () => {
    const url = item('Welcome to Swarmcast').enclosure!.url;
    const a1 = await get(url, { range: 'bytes=0-1' });
    const b = await get(url, { range: 'bytes=0-1', 'user-agent': overcast });
    const a2 = await get(url, { range: 'bytes=0-1' });
    expect(a1.res.headers.get('etag')).toBe(a2.res.headers.get('etag'));
    expect(b.res.headers.get('etag')).not.toBe(a1.res.headers.get('etag'));
  });

  it('answers HEAD with the exact length and 416 past the end', async () => {
    const url = item('How the swarm works').enclosure!.url;
    const head = await fetch(url, { method: 'HEAD', headers: { 'user-agent': apple } });
    const size = Number(head.headers.get('content-length'));
    expect(size).toBeGreaterThan(0);
    expect(head.headers.get('accept-ranges')).toBe('bytes');
    const past = await get(url, { range: `bytes=${size}-` });
    expect(past.res.status).toBe(416);
    expect(past.res.headers.get('content-range')).toBe(`bytes */${size}`);
  });

  it('serves chapters moved by the listener plan ads', async () => {
    const e = item('Welcome to Swarmcast');
    const id = /\/dai\/([^/.]+)\.mp3$/.exec(e.enclosure!.url)![1]!;
    const plainChapters = (await (
      await fetch(new URL(`/episodes/${id}/chapters.json`, node.url))
    ).json()) as {
      chapters: Array<{ startTime: number }>;
    };
    const res = await fetch(new URL(`/dai/${id}/chapters.json`, node.url), {
      headers: { 'user-agent': apple },
    });
    const shifted = (await res.json()) as { chapters: Array<{ startTime: number }> };
    expect(shifted.chapters.length).toBe(plainChapters.chapters.length);
    expect(plainChapters.chapters.length).toBeGreaterThanOrEqual(2);
    // The pre-roll moves every chapter; the mid-roll at chapter 2 moves it once more.
    const d0 = shifted.chapters[0]!.startTime - plainChapters.chapters[0]!.startTime;
    const d1 = shifted.chapters[1]!.startTime - plainChapters.chapters[1]!.startTime;
    expect(d0).toBeGreaterThan(5.9);
    expect(d0).toBeLessThan(6.2);
    expect(d1).toBeGreaterThan(11.9);
    expect(d1).toBeLessThan(12.3);
  });

  it('a taken-down episode has no stitched enclosure, no file, no chapters and no transcript', async () => {
    const url = item('How the swarm works').enclosure!.url;
    expect((await get(url)).res.status).toBe(200);
    const made = await createAccount(node.catalog.db, {
      email: 'dai-admin@example.org',
      name: 'Admin',
      password: 'a long enough password',
      role: 'admin',
    });
    if (!made.ok) throw new Error(made.message);
    const id = url.slice(url.lastIndexOf('/') + 1, -'.mp3'.length);
    const ep = await getEpisode(node.catalog.db, id);
    const srt = new TextEncoder().encode('1\n00:00:00,500 --> 00:00:02,000\nHello and welcome.\n');
    expect((await setTranscript(node.catalog, made.value, id, srt, 'en')).ok).toBe(true);
    const words = new URL(`/dai/${id}/transcripts/en.vtt`, node.url).toString();
    const chapters = new URL(`/dai/${id}/chapters.json`, node.url).toString();
    expect([(await get(words)).res.status, (await get(chapters)).res.status]).toEqual([200, 200]);
    const down = await takeDownEpisode(node.catalog, made.value, id, 'test takedown');
    expect(down.ok).toBe(true);
    // Neither the chapters nor the words of a taken-down episode stay readable by its id.
    expect([(await get(words)).res.status, (await get(chapters)).res.status]).toEqual([404, 404]);
    // The stitcher's episode cache lives a few seconds: wait for the answer to change.
    await waitFor(async () => (await get(url)).res.status === 404, 30_000, 'the stitched URL to go');
    await waitFor(
      async () => (await get(new URL(`/media/${ep!.media!.path}`, node.url).toString())).res.status === 410,
      30_000,
      'the file to be gone',
    );
  });
});

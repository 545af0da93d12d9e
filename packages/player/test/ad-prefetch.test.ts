import { describe, expect, it } from 'vitest';
import { type PrefetchEnv, prefetchPod } from '../src/ad-prefetch.ts';
import type { LinearAd, VastReadResult } from '../src/vast-read.ts';

const ad = (id: string, files: [string, string][]): LinearAd => ({
  adId: id,
  adServingId: null,
  sequence: 1,
  durationMs: 6000,
  skipOffsetMs: null,
  mediaFiles: files.map(([url, mimeType]) => ({ url, mimeType, width: 0, height: 0, bitrateKbps: 0 })),
  trackers: { impression: [], error: [], events: {}, progress: [] },
  clickThrough: null,
  clickTracking: [],
  companions: [],
});
const pod = (...ads: LinearAd[]): VastReadResult => ({ ads, noAdErrorUrls: [], error: null });

/** A fake network: url -> body (and optional declared length), counting requests. */
function env(
  files: Record<string, { body: Uint8Array; declared?: number; status?: number } | 'throw'>,
  maxBytes = 1000,
) {
  const asked: string[] = [];
  const made: Blob[] = [];
  const revoked: string[] = [];
  const e: PrefetchEnv = {
    fetch: (async (input: string | URL | Request) => {
      const url = String(input);
      asked.push(url);
      const f = files[url];
      if (f === undefined) return new Response('', { status: 404 });
      if (f === 'throw') throw new TypeError('network down');
      const headers: Record<string, string> = { 'content-type': 'audio/mpeg' };
      if (f.declared !== undefined) headers['content-length'] = String(f.declared);
      // A stream in two chunks, so the reader's running count is exercised.
      const half = Math.floor(f.body.length / 2);
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(f.body.subarray(0, half));
          c.enqueue(f.body.subarray(half));
          c.close();
        },
      });
      return new Response(body, { status: f.status ?? 200, headers });
    }) as typeof fetch,
    createObjectURL: (b) => {
      made.push(b);
      return `blob:${made.length}`;
    },
    revokeObjectURL: (u) => void revoked.push(u),
    timeoutMs: 5000,
    maxBytes,
  };
  return { e, asked, made, revoked };
}
const mp3Only = (m: string) => m === 'audio/mpeg';

describe('prefetchPod', () => {
  it('downloads the file each ad will play, once per URL, and releases it once', async () => {
    const n = env({
      'https://a/1.mp3': { body: new Uint8Array(300).fill(7) },
      'https://a/2.mp3': { body: new Uint8Array(10) },
    });
    const p = await prefetchPod(
      n.e,
      pod(
        ad('a', [
          ['https://a/1.ogg', 'audio/ogg'],
          ['https://a/1.mp3', 'audio/mpeg'],
        ]),
        ad('b', [['https://a/2.mp3', 'audio/mpeg']]),
        ad('c', [['https://a/1.mp3', 'audio/mpeg']]),
      ),
      mp3Only,
    );
    expect(n.asked.sort()).toEqual(['https://a/1.mp3', 'https://a/2.mp3']);
    expect([...p.media.keys()].sort()).toEqual(['https://a/1.mp3', 'https://a/2.mp3']);
    const first = n.made[[...p.media.keys()].indexOf('https://a/1.mp3')]!;
    expect(first.size).toBe(300);
    expect(new Uint8Array(await first.arrayBuffer())[299]).toBe(7);
    expect(first.type).toBe('audio/mpeg');
    p.release();
    p.release();
    expect(n.revoked.sort()).toEqual([...p.media.values()].sort());
  });

  it.each([
    ['a declared length over the limit', { body: new Uint8Array(10), declared: 5000 }],
    ['an undeclared body over the limit', { body: new Uint8Array(1500) }],
    ['a length that lies low', { body: new Uint8Array(1500), declared: 10 }],
    ['an HTTP error', { body: new Uint8Array(10), status: 500 }],
    ['an empty body', { body: new Uint8Array(0) }],
    ['a network failure', 'throw' as const],
  ])('%s: not kept (the element streams the URL itself)', async (_name, file) => {
    const n = env({ 'https://a/1.mp3': file });
    const p = await prefetchPod(n.e, pod(ad('a', [['https://a/1.mp3', 'audio/mpeg']])), mp3Only);
    expect(n.asked).toEqual(['https://a/1.mp3']);
    expect(p.media.size).toBe(0);
    expect(n.made).toEqual([]);
  });

  it('asks nothing for an ad with no playable file, or an empty pod', async () => {
    const n = env({});
    const p = await prefetchPod(n.e, pod(ad('a', [['https://a/1.flv', 'video/x-flv']])), mp3Only);
    expect(p.media.size).toBe(0);
    expect((await prefetchPod(n.e, pod(), mp3Only)).media.size).toBe(0);
    expect(n.asked).toEqual([]);
  });

  it('gives up on a server that never finishes the body within the timeout', async () => {
    const n = env({});
    n.e.timeoutMs = 200;
    n.e.fetch = (async (_u: unknown, init?: RequestInit) =>
      new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(new Uint8Array(5));
            init?.signal?.addEventListener('abort', () => c.error(init.signal?.reason));
          },
        }),
      )) as typeof fetch;
    const p = await prefetchPod(n.e, pod(ad('a', [['https://a/1.mp3', 'audio/mpeg']])), mp3Only);
    expect(p.media.size).toBe(0);
  });
});

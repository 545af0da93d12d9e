import { describe, expect, it } from 'vitest';
import { parseByteRange, startStreamServer } from '../src/node/stream-server.ts';
import { SimSwarm } from '../src/sim/index.ts';
import { prng } from './prng.ts';
import { simTorrent } from './sim-helpers.ts';

describe('Range header of the --stream server', () => {
  it('reads the single-range forms players send', () => {
    expect(parseByteRange('bytes=0-99', 1000)).toEqual({ start: 0, end: 99 });
    expect(parseByteRange('bytes=900-', 1000)).toEqual({ start: 900, end: 999 });
    expect(parseByteRange('bytes=-100', 1000)).toEqual({ start: 900, end: 999 });
    expect(parseByteRange('bytes=-5000', 1000)).toEqual({ start: 0, end: 999 });
    expect(parseByteRange('bytes=990-5000', 1000)).toEqual({ start: 990, end: 999 });
    expect(parseByteRange(undefined, 1000)).toBeUndefined();
  });

  it('answers 416 only for well-formed ranges outside the file', () => {
    expect(parseByteRange('bytes=1000-', 1000)).toBe('unsatisfiable');
    expect(parseByteRange('bytes=5-4', 1000)).toBe('unsatisfiable');
    expect(parseByteRange('bytes=-0', 1000)).toBe('unsatisfiable');
    expect(parseByteRange('bytes=0-0', 0)).toBe('unsatisfiable');
  });

  it('ignores what it does not understand (RFC 9110): several ranges, other units, garbage', () => {
    for (const h of [
      'bytes=0-1,5-6',
      'items=0-1',
      'bytes=',
      'bytes=-',
      'bytes=a-b',
      'bytes=99999999999999999-',
      '',
    ]) {
      expect(parseByteRange(h, 1000), h).toBeUndefined();
    }
    const rand = prng(7);
    for (let i = 0; i < 2000; i++) {
      const h = Array.from({ length: Math.floor(rand() * 24) }, () =>
        String.fromCharCode(32 + Math.floor(rand() * 95)),
      ).join('');
      const size = Math.floor(rand() * 5000);
      const r = parseByteRange(`bytes=${h}`, size);
      if (r && r !== 'unsatisfiable') {
        expect(r.start).toBeGreaterThanOrEqual(0);
        expect(r.end).toBeLessThan(size);
        expect(r.start).toBeLessThanOrEqual(r.end);
      }
    }
  });
});

describe('the --stream HTTP server over a session', () => {
  it('serves a seeded file and its ranges, and answers hostile requests with 4xx', async () => {
    const swarm = new SimSwarm(5, simTorrent(300_000, 32 * 1024, 5));
    const [node] = await swarm.addNodes([
      { name: 'seed', seed: true, link: { up: 1e6, down: 1e6, latencyMs: 1 } },
    ]);
    const server = await startStreamServer(node!.session, { port: 0 });
    try {
      const content = Buffer.from(swarm.torrent.content);
      const list = (await (await fetch(server.url)).json()) as { files: { url: string; length: number }[] };
      expect(list.files).toEqual([
        { index: 0, path: 'sim/episode.bin', length: 300_000, url: `${server.url}files/0/sim/episode.bin` },
      ]);
      const url = list.files[0]!.url;
      const whole = await fetch(url);
      expect(whole.headers.get('content-type')).toBe('application/octet-stream');
      expect(Buffer.from(await whole.arrayBuffer()).equals(content)).toBe(true);
      const part = await fetch(url, { headers: { range: 'bytes=65530-65545' } });
      expect(part.status).toBe(206);
      expect(Buffer.from(await part.arrayBuffer()).equals(content.subarray(65530, 65546))).toBe(true);
      const head = await fetch(url, { method: 'HEAD' });
      expect(head.headers.get('content-length')).toBe('300000');
      for (const path of [
        '/files/1/x',
        '/files/../../etc/passwd',
        '/files/%2e%2e/x',
        '/nope',
        '/files/',
        '/files/99999999999',
      ]) {
        const r = await fetch(`${server.url.replace(/\/$/, '')}${path}`);
        await r.arrayBuffer();
        expect(r.status, path).toBe(404);
      }
      const post = await fetch(url, { method: 'POST', body: 'x' });
      await post.arrayBuffer();
      expect(post.status).toBe(405);
      // Still serving after all that.
      expect(
        (await fetch(url, { headers: { range: 'bytes=-1' } }).then((r) => r.arrayBuffer())).byteLength,
      ).toBe(1);
    } finally {
      await server.close();
      await swarm.close();
    }
  });
});

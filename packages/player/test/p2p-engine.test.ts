import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type Metainfo, memoryTransportPair, parseTorrent } from '@swarmcast/bittorrent';
import { createTorrent, nodeHasher } from '@swarmcast/bittorrent/node';
import { scratchDir, waitFor } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { P2pEngine } from '../src/p2p/p2p-engine.ts';

/** The engine in Node: the web seed is a real HTTP server; peers are in-memory transports. */
describe('P2pEngine (the in-page swarm engine)', () => {
  let server: Server;
  let content: Buffer;
  let meta: Metainfo;
  let requests: string[] = [];
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const dir = await scratchDir();
    cleanup = dir.remove;
    content = randomBytes(3 * 1024 * 1024 + 12_345);
    const path = join(dir.path, 'episode.mp3');
    await writeFile(path, content);
    server = createServer((req, res) => {
      requests.push(req.headers.range ?? 'none');
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (!m) return void res.writeHead(200, { 'content-length': content.length }).end(content);
      const [s, e] = [Number(m[1]), Number(m[2])];
      res.writeHead(206, {
        'content-length': e - s + 1,
        'content-range': `bytes ${s}-${e}/${content.length}`,
      });
      res.end(content.subarray(s, e + 1));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/media/episode.mp3`;
    const made = await createTorrent(path, { version: 'hybrid', pieceLength: 64 * 1024, webSeeds: [url] });
    if (!made.ok) throw new Error(made.error.message);
    const parsed = await parseTorrent(made.value.torrent, nodeHasher);
    if (!parsed.ok) throw new Error(parsed.error.message);
    meta = parsed.value;
  });
  afterAll(async () => {
    server?.close();
    await cleanup?.();
  });

  const engine = (extra: Partial<ConstructorParameters<typeof P2pEngine>[0]> = {}) =>
    new P2pEngine({
      meta,
      hasher: nodeHasher,
      trackers: [],
      webSeeds: meta.urlList,
      rtc: null,
      webSocket: null,
      randomBytes: (n) => new Uint8Array(randomBytes(n)),
      bytesPerSecond: 100_000,
      noPeerGraceMs: 0,
      ...extra,
    });
  const readAll = async (e: P2pEngine, start: number, end: number) => {
    const parts: Uint8Array[] = [];
    for await (const c of e.read(start, end)) parts.push(c);
    return Buffer.concat(parts);
  };

  it('with no peers (WebRTC unavailable) plays from the web seed alone, and a seek reads the right bytes', async () => {
    requests = [];
    const e = engine();
    await e.start();
    expect(e.peerToPeer).toBe(false);
    expect((await readAll(e, 0, 99_999)).equals(content.subarray(0, 100_000))).toBe(true);
    const at = 2_000_001;
    expect((await readAll(e, at, content.length - 1)).equals(content.subarray(at))).toBe(true);
    expect(requests.every((r) => r.startsWith('bytes='))).toBe(true);
    expect(e.stats().bytesFromWebSeed).toBeGreaterThan(0);
    expect(e.stats().bytesFromPeers).toBe(0);
    await e.close();
  });

  it('bad ranges are refused', async () => {
    const e = engine();
    await e.start();
    await expect(readAll(e, 10, 5)).rejects.toThrow(RangeError);
    await expect(readAll(e, 0, content.length)).rejects.toThrow(RangeError);
    await e.close();
  });

  it('keeps memory within the cache budget on a long read, and a seek back refetches evicted pieces', async () => {
    const budget = 512 * 1024;
    const e = engine({ maxCacheBytes: budget, webSeedBatchBytes: 128 * 1024 });
    await e.start();
    let peak = 0;
    const parts: Uint8Array[] = [];
    for await (const c of e.read(0, content.length - 1)) {
      parts.push(c);
      e.setPlayhead(parts.reduce((n, p) => n + p.length, 0));
      peak = Math.max(peak, e.stats().cacheBytes);
    }
    expect(Buffer.concat(parts).equals(content)).toBe(true);
    expect(peak).toBeLessThanOrEqual(budget + 64 * 1024);
    e.setPlayhead(0);
    expect((await readAll(e, 1000, 200_000)).equals(content.subarray(1000, 200_001))).toBe(true);
    await e.close();
  });

  it('a second listener gets most of its bytes from the first (peers), only urgent bytes from the web seed', async () => {
    const a = engine();
    await a.start();
    await waitFor(() => a.stats().complete, 30_000, 'A complete');
    // B meets A before it starts, so it never reads ahead alone from the web seed.
    const b = engine({ urgentSeconds: 2 });
    const [x, y] = memoryTransportPair();
    a.session.addIncoming(x);
    b.session.addIncoming(y);
    await waitFor(() => b.session.stats().peers > 0, 10_000, 'B to see A');
    await b.start();
    const got = await readAll(b, 0, content.length - 1);
    expect(got.equals(content)).toBe(true);
    await waitFor(() => b.stats().complete, 30_000, 'B complete');
    const s = b.stats();
    expect(s.bytesFromPeers / (s.bytesFromPeers + s.bytesFromWebSeed)).toBeGreaterThan(0.8);
    expect(a.stats().uploaded).toBeGreaterThanOrEqual(s.bytesFromPeers);
    await b.close();
    await a.close();
  });
});

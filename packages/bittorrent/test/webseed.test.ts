import { createReadStream, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { scratchDir } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asPieceIndex,
  type Metainfo,
  parseTorrent,
  verifyPiece,
  WebSeed,
  webSeedFileUrl,
} from '../src/index.ts';
import { createTorrent, nodeHasher } from '../src/node/index.ts';
import { prng, randomBytes } from './prng.ts';

/** A plain file server with single byte ranges (what an origin or nginx does), with switches for misbehaving. */
function fileServer(root: string, mode: { ranges: boolean; lie: boolean }): Server {
  return createServer((req, res) => {
    const path = join(root, decodeURIComponent(new URL(req.url!, 'http://x').pathname));
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      res.writeHead(404).end();
      return;
    }
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (!m || !mode.ranges) {
      res.writeHead(200, { 'content-length': size });
      createReadStream(path).pipe(res);
      return;
    }
    const start = Number(m[1]);
    const end = Math.min(Number(m[2]), size - 1);
    if (mode.lie) {
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${size}` });
      res.end(Buffer.alloc(end - start + 2)); // one byte too many
      return;
    }
    res.writeHead(206, {
      'content-range': `bytes ${start}-${end}/${size}`,
      'content-length': end - start + 1,
    });
    createReadStream(path, { start, end }).pipe(res);
  });
}

describe('web seed (BEP 19)', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  const servers: Server[] = [];
  const mode = { ranges: true, lie: false };
  let base = '';
  const rand = prng(19);

  beforeAll(async () => {
    dir = await scratchDir('swarmcast-webseed-');
    mkdirSync(join(dir.path, 'www', 'show', 'art'), { recursive: true });
    writeFileSync(join(dir.path, 'www', 'show', 'ep 1.mp3'), randomBytes(rand, 100_001));
    writeFileSync(join(dir.path, 'www', 'show', 'art', 'c.jpg'), randomBytes(rand, 20_000));
    writeFileSync(join(dir.path, 'www', 'show', 'tiny'), randomBytes(rand, 3));
    writeFileSync(join(dir.path, 'www', 'single.bin'), randomBytes(rand, 50_000));
    const server = fileServer(join(dir.path, 'www'), mode);
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  });
  afterAll(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
    await dir?.remove();
  });

  async function torrentOf(path: string, version: 'v1' | 'hybrid' | 'v2'): Promise<Metainfo> {
    const made = await createTorrent(join(dir.path, 'www', path), {
      version,
      pieceLength: 16384,
      threads: 1,
    });
    if (!made.ok) throw new Error(made.error.message);
    const parsed = await parseTorrent(made.value.torrent, nodeHasher);
    if (!parsed.ok) throw new Error(parsed.error.message);
    return parsed.value;
  }

  it('builds BEP 19 URLs for single and multi-file torrents', () => {
    expect(webSeedFileUrl('http://h/f.bin', { name: 'f', singleFile: true }, ['f'])).toBe('http://h/f.bin');
    expect(webSeedFileUrl('http://h/d/', { name: 'a b', singleFile: true }, ['a b'])).toBe(
      'http://h/d/a%20b',
    );
    expect(webSeedFileUrl('http://h/d', { name: 'show', singleFile: false }, ['art', 'c.jpg'])).toBe(
      'http://h/d/show/art/c.jpg',
    );
  });

  for (const version of ['v1', 'hybrid', 'v2'] as const) {
    it(`${version}: every piece of a multi-file torrent (pads included) fetched by range verifies`, async () => {
      const meta = await torrentOf('show', version);
      const seed = new WebSeed(base, meta);
      for (let i = 0; i < meta.pieceCount; i++) {
        const r = await seed.fetchPiece(i);
        if (!r.ok) throw new Error(r.error.message);
        expect(await verifyPiece(meta, asPieceIndex(i), r.value, nodeHasher), `piece ${i}`).toBe(true);
      }
    });
  }

  it('single-file torrent: the URL is the file itself', async () => {
    const meta = await torrentOf('single.bin', 'v1');
    const seed = new WebSeed(`${base}single.bin`, meta);
    for (let i = 0; i < meta.pieceCount; i++) {
      const r = await seed.fetchPiece(i);
      expect(r.ok && (await verifyPiece(meta, asPieceIndex(i), r.value, nodeHasher))).toBe(true);
    }
    const slash = new WebSeed(base, meta);
    expect((await slash.fetchPiece(0)).ok).toBe(true);
  });

  it('gives coded errors: missing file, no range support, a body of the wrong length, out of range', async () => {
    const meta = await torrentOf('show', 'v1');
    const wrong = new WebSeed(`${base}nowhere/`, meta);
    const missing = await wrong.fetchPiece(0);
    expect(missing.ok || missing.error.code).toBe('BT_WEBSEED_HTTP_STATUS');
    mode.ranges = false;
    const noRanges = await new WebSeed(base, meta).fetchPiece(1);
    expect(noRanges.ok || noRanges.error.code).toBe('BT_WEBSEED_NO_RANGES');
    mode.ranges = true;
    mode.lie = true;
    const lying = await new WebSeed(base, meta).fetchPiece(1);
    expect(lying.ok || lying.error.code).toBe('BT_WEBSEED_SHORT');
    mode.lie = false;
    expect((await new WebSeed(base, meta).fetchPiece(meta.pieceCount)).ok).toBe(false);
    const dead = await new WebSeed('http://127.0.0.1:1/', meta).fetchPiece(0);
    expect(dead.ok || dead.error.code).toBe('BT_WEBSEED_UNREACHABLE');
  });
});

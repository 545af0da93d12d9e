import { describe, expect, it } from 'vitest';
import {
  createTorrentFromMemory,
  magnetMetadataCheck,
  magnetWireHash,
  metainfoFromMagnet,
  parseMagnet,
  parsePeerAddress,
  parseTorrent,
  toHex,
  truncatedV2,
} from '../src/index.ts';
import { nodeHasher } from '../src/node/index.ts';
import { prng, randomBytes } from './prng.ts';

async function made(version: 'v1' | 'v2' | 'hybrid', sizes: number[]) {
  const rand = prng(9);
  const r = await createTorrentFromMemory(
    'show',
    sizes.map((n, i) => ({ path: [`f${i}.bin`], data: randomBytes(rand, n) })),
    { version, pieceLength: 16384 },
    nodeHasher,
  );
  if (!r.ok) throw new Error(r.error.message);
  const parsed = await parseTorrent(r.value.torrent, nodeHasher);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
}

function magnet(text: string) {
  const m = parseMagnet(text);
  if (!m.ok) throw new Error(m.error.message);
  return m.value;
}

describe('the torrent of a magnet link from BEP 9 metadata', () => {
  it('checks a hybrid info dict against both btih and btmh, and takes tr= and ws= from the link', async () => {
    const meta = await made('hybrid', [40_000, 5_000]);
    const link = magnet(
      `magnet:?xt=urn:btih:${toHex(meta.infoHash.v1!)}&xt=urn:btmh:1220${toHex(meta.infoHash.v2!)}` +
        '&tr=udp%3A%2F%2F127.0.0.1%3A1%2Fannounce&tr=http%3A%2F%2F127.0.0.1%3A2%2Fannounce&ws=http%3A%2F%2F127.0.0.1%3A3%2F',
    );
    const got = await metainfoFromMagnet(link, meta.infoBytes, nodeHasher);
    expect(got.ok).toBe(true);
    if (!got.ok) return;
    expect(got.value.announce).toEqual([['udp://127.0.0.1:1/announce', 'http://127.0.0.1:2/announce']]);
    expect(got.value.urlList).toEqual(['http://127.0.0.1:3/']);
    expect(got.value.pieceCount).toBe(meta.pieceCount);
    // The fetch itself is checked with SHA-1 against btih when the link has one.
    const check = magnetMetadataCheck(link, nodeHasher);
    expect(toHex(await check.hash(meta.infoBytes))).toBe(toHex(check.expectedHash));
    expect(toHex(magnetWireHash(link))).toBe(toHex(meta.infoHash.v1!));
  });

  it('refuses metadata whose SHA-256 is not the btmh even when the btih matches', async () => {
    const meta = await made('hybrid', [20_000]);
    const other = await made('v2', [20_001]);
    const link = magnet(
      `magnet:?xt=urn:btih:${toHex(meta.infoHash.v1!)}&xt=urn:btmh:1220${toHex(other.infoHash.v2!)}`,
    );
    const got = await metainfoFromMagnet(link, meta.infoBytes, nodeHasher);
    expect(got.ok ? 'ok' : got.error.code).toBe('BT_METADATA_HASH_MISMATCH');
  });

  it('refuses metadata for another btih, and bytes that are not an info dict', async () => {
    const meta = await made('v1', [20_000]);
    const link = magnet(`magnet:?xt=urn:btih:${'00'.repeat(20)}`);
    const got = await metainfoFromMagnet(link, meta.infoBytes, nodeHasher);
    expect(got.ok ? 'ok' : got.error.code).toBe('BT_METADATA_HASH_MISMATCH');
    const junk = await metainfoFromMagnet(link, new TextEncoder().encode('d4:spami3ee'), nodeHasher);
    expect(junk.ok).toBe(false);
    const notBencode = await metainfoFromMagnet(link, new Uint8Array([0xff, 1, 2]), nodeHasher);
    expect(notBencode.ok).toBe(false);
  });

  it('a v2-only magnet: fetched by SHA-256 of the btmh, usable when every file fits one piece', async () => {
    const small = await made('v2', [10_000, 16_384]);
    const link = magnet(`magnet:?xt=urn:btmh:1220${toHex(small.infoHash.v2!)}`);
    const check = magnetMetadataCheck(link, nodeHasher);
    expect(toHex(check.infoHash)).toBe(toHex(truncatedV2(small.infoHash.v2!)));
    expect(toHex(await check.hash(small.infoBytes))).toBe(toHex(small.infoHash.v2!));
    expect((await metainfoFromMagnet(link, small.infoBytes, nodeHasher)).ok).toBe(true);

    // Bigger files need piece layers (BEP 52 hash requests), which we do not fetch: say so.
    const big = await made('v2', [40_000]);
    const bigLink = magnet(`magnet:?xt=urn:btmh:1220${toHex(big.infoHash.v2!)}`);
    const got = await metainfoFromMagnet(bigLink, big.infoBytes, nodeHasher);
    expect(got.ok ? 'ok' : got.error.code).toBe('BT_MAGNET_V2_LAYERS');
  });
});

describe('x.pe peer addresses', () => {
  it('reads IPv4, IPv6 in brackets and names', () => {
    expect(parsePeerAddress('127.0.0.1:6881')).toEqual({ host: '127.0.0.1', port: 6881 });
    expect(parsePeerAddress('[::1]:51413')).toEqual({ host: '::1', port: 51413 });
    expect(parsePeerAddress('peer.example:1')).toEqual({ host: 'peer.example', port: 1 });
  });

  it('refuses hostile or broken text', () => {
    for (const bad of [
      '',
      '127.0.0.1',
      '127.0.0.1:0',
      '127.0.0.1:65536',
      '127.0.0.1:99999999',
      '::1:6881',
      '[::1:6881',
      '[zz]:1',
      'a b:1',
      ':6881',
      `${'a'.repeat(10)}:-1`,
    ]) {
      expect(parsePeerAddress(bad), bad).toBeUndefined();
    }
  });
});

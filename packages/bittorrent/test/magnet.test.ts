import { describe, expect, it } from 'vitest';
import {
  encodeBencode,
  formatMagnet,
  fromHex,
  type Magnet,
  magnetOf,
  parseMagnet,
  parseTorrent,
  toBase32,
  toHex,
} from '../src/index.ts';
import { nodeHasher } from '../src/node/index.ts';
import { prng, testSeed } from './prng.ts';

const hex1 = 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a';
const hex2 = 'd8dd32ac93357c368556af3ac1d95c9d76bd0dff6fa9833ecdac3d53134efabb';

describe('magnet links', () => {
  it('parses btih hex, dn, tr, ws, xl, x.pe, so', () => {
    const r = parseMagnet(
      `magnet:?xt=urn:btih:${hex1.toUpperCase()}&dn=My%20Show&tr=http%3A%2F%2Ft%2Fa&tr=udp%3A%2F%2Fu%3A1&ws=http%3A%2F%2Fw%2F&xl=1234&x.pe=127.0.0.1%3A6881&x.pe=%5B%3A%3A1%5D%3A1&so=0,2-4`,
    );
    if (!r.ok) throw new Error(r.error.message);
    expect(toHex(r.value.infoHash.v1!)).toBe(hex1);
    expect(r.value).toMatchObject({
      name: 'My Show',
      trackers: ['http://t/a', 'udp://u:1'],
      webSeeds: ['http://w/'],
      length: 1234,
      peers: ['127.0.0.1:6881', '[::1]:1'],
      select: [0, 2, 3, 4],
    });
  });

  it('parses btih in base32 and btmh (sha2-256 multihash)', () => {
    const b32 = toBase32(fromHex(hex1)!);
    expect(b32).toHaveLength(32);
    const r = parseMagnet(`magnet:?xt=urn:btih:${b32.toLowerCase()}&xt=urn:btmh:1220${hex2}`);
    if (!r.ok) throw new Error(r.error.message);
    expect(toHex(r.value.infoHash.v1!)).toBe(hex1);
    expect(toHex(r.value.infoHash.v2!)).toBe(hex2);
  });

  const bad: [string, string, string][] = [
    ['not a magnet', 'http://x/', 'BT_MAGNET_MALFORMED'],
    ['no hash', 'magnet:?dn=x', 'BT_MAGNET_NO_HASH'],
    ['short btih', 'magnet:?xt=urn:btih:abcd', 'BT_MAGNET_BAD_HASH'],
    ['non-hex btih', `magnet:?xt=urn:btih:${'z'.repeat(40)}`, 'BT_MAGNET_BAD_HASH'],
    ['bad base32', `magnet:?xt=urn:btih:${'1'.repeat(32)}`, 'BT_MAGNET_BAD_HASH'],
    ['btmh sha1 multihash', `magnet:?xt=urn:btmh:1114${hex1}`, 'BT_MAGNET_BAD_HASH'],
    ['btmh wrong length', `magnet:?xt=urn:btmh:1220${hex1}`, 'BT_MAGNET_BAD_HASH'],
    ['bad so', `magnet:?xt=urn:btih:${hex1}&so=4-2`, 'BT_MAGNET_MALFORMED'],
    ['huge so', `magnet:?xt=urn:btih:${hex1}&so=0-999999999`, 'BT_MAGNET_MALFORMED'],
    ['too long', `magnet:?xt=urn:btih:${hex1}&dn=${'a'.repeat(70_000)}`, 'BT_MAGNET_MALFORMED'],
  ];
  for (const [what, uri, code] of bad) {
    it(`rejects ${what}`, () => {
      const r = parseMagnet(uri);
      expect(r.ok ? 'ok' : r.error.code).toBe(code);
    });
  }

  const seed = testSeed();
  it(`format then parse round-trips (seed ${seed})`, () => {
    const rand = prng(seed);
    const pick = (s: string, n: number) =>
      Array.from({ length: n }, () => s[Math.floor(rand() * s.length)]).join('');
    for (let i = 0; i < 300; i++) {
      const hashes = Math.floor(rand() * 3);
      const m: Magnet = {
        infoHash: {
          ...(hashes !== 1 ? { v1: fromHex(pick('0123456789abcdef', 40)) as never } : {}),
          ...(hashes !== 0 ? { v2: fromHex(pick('0123456789abcdef', 64)) as never } : {}),
        },
        name: pick('ab &=%?é/#+', 12),
        trackers: [`http://t/${pick('a&=?', 5)}`],
        webSeeds: rand() < 0.5 ? [] : ['http://w/x y/'],
        length: Math.floor(rand() * 1e12),
        peers: ['10.0.0.1:80'],
        select: [1, 2, 3, 7],
      };
      const r = parseMagnet(formatMagnet(m));
      expect(r.ok && r.value, `seed ${seed} iteration ${i}`).toEqual(m);
    }
  });

  it(`random strings never throw (seed ${seed})`, () => {
    const rand = prng(seed ^ 1);
    const alphabet = `magnet:?xt=urn:btihmh&%0123456789abcdefz,-.`;
    for (let i = 0; i < 3000; i++) {
      const s = `magnet:?${Array.from({ length: Math.floor(rand() * 80) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('')}`;
      const r = parseMagnet(s);
      if (!r.ok) expect(r.error.code).toMatch(/^BT_MAGNET_/);
    }
  });

  it('magnetOf(torrent) carries its hash, name, every tracker, web seeds and size', async () => {
    const torrent = encodeBencode({
      'announce-list': [['http://a/announce'], ['udp://b:1/announce', 'http://a/announce']],
      'url-list': ['http://w/'],
      info: { name: 'ep', 'piece length': 16384, pieces: new Uint8Array(20), length: 100 },
    });
    const meta = await parseTorrent(torrent, nodeHasher);
    if (!meta.ok) throw new Error(meta.error.message);
    const back = parseMagnet(magnetOf(meta.value));
    expect(back.ok && back.value).toEqual({
      infoHash: meta.value.infoHash,
      name: 'ep',
      trackers: ['http://a/announce', 'udp://b:1/announce'],
      webSeeds: ['http://w/'],
      length: 100,
      peers: [],
    });
  });
});

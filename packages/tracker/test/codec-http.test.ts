import bencode from 'bencode';
import { describe, expect, it } from 'vitest';
import { compactPeer, uncompactPeer } from '../src/codec/address.ts';
import {
  decodeHttpAnnounce,
  decodeHttpScrape,
  encodeHttpAnnounce,
  encodeHttpScrape,
} from '../src/codec/http.ts';
import { defaultCodecLimits } from '../src/codec/limits.ts';
import { parseRawQuery, percentDecodeBytes } from '../src/codec/query-string.ts';
import { isTrackerError } from '../src/errors.ts';
import type { AnnounceRequest, InfoHash } from '../src/types.ts';
import { announceQuery, escapeBytes, peerId } from './helpers/announce.ts';

const ctx = { ip: '::ffff:10.0.0.1', passkey: null, userAgent: 'test' };

describe('query string', () => {
  it('keeps binary values as bytes', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const q = parseRawQuery(`a=${escapeBytes(bytes)}&b=x+y&c`);
    expect(Buffer.from(q.get('a')![0]!)).toEqual(Buffer.from(bytes));
    expect(Buffer.from(q.get('b')![0]!).toString()).toBe('x y');
    expect(q.get('c')![0]!.length).toBe(0);
  });
  it.each(['%', '%4', '%zz', 'é'])('refuses the malformed escape %s', (s) => {
    expect(percentDecodeBytes(s)).toBeNull();
  });
  it('bounds the number of pairs', () => {
    expect(parseRawQuery('a=1&'.repeat(10_000), 128).get('a')!.length).toBe(128);
  });
});

describe('HTTP announce decoding', () => {
  it('parses a qBittorrent-style announce', () => {
    const r = decodeHttpAnnounce(
      announceQuery({ peerId: peerId(), event: 'started', numwant: 30, uploaded: 5, left: 0 }),
      ctx,
      defaultCodecLimits,
    ) as AnnounceRequest;
    expect(isTrackerError(r)).toBe(false);
    expect(r.infoHash).toBe('01'.repeat(20));
    expect(r.ip).toBe('10.0.0.1');
    expect(r).toMatchObject({
      port: 6881,
      uploaded: 5,
      left: 0,
      event: 'started',
      numwant: 30,
      compact: true,
    });
  });
  it.each([
    ['short info_hash', announceQuery({ infoHash: new Uint8Array(19) }), 'TRK_BAD_INFO_HASH'],
    ['long info_hash', announceQuery({ infoHash: new Uint8Array(21) }), 'TRK_BAD_INFO_HASH'],
    ['missing info_hash', 'peer_id=x&port=1&left=0', 'TRK_BAD_INFO_HASH'],
    ['bad escape in info_hash', `info_hash=%zz${'a'.repeat(19)}&port=1&left=0`, 'TRK_BAD_INFO_HASH'],
    ['short peer_id', announceQuery({ peerId: new Uint8Array(5) }), 'TRK_BAD_PEER_ID'],
    ['port 0', announceQuery({ port: 0 }), 'TRK_BAD_PORT'],
    ['port too big', announceQuery({ port: 70000 }), 'TRK_BAD_PORT'],
    ['port not a number', announceQuery({ port: 'x' }), 'TRK_BAD_PORT'],
    ['negative left', announceQuery({ left: '-1' }), 'TRK_BAD_NUMBER'],
    ['left not a number', announceQuery({ left: '1e9' }), 'TRK_BAD_NUMBER'],
    ['unknown event', announceQuery({ event: 'exploded' }), 'TRK_BAD_EVENT'],
  ])('refuses %s', (_name, query, code) => {
    const r = decodeHttpAnnounce(query, ctx, defaultCodecLimits);
    expect(isTrackerError(r) && r.error).toBe(code);
  });
  it.each([
    ['huge', '99999999999999999999', 200],
    ['negative', '-5', 50],
    ['garbage', 'lots', 50],
    ['absent', undefined, 50],
    ['zero', '0', 0],
  ])('caps numwant when %s', (_n, numwant, expected) => {
    const r = decodeHttpAnnounce(announceQuery({ numwant }), ctx, defaultCodecLimits) as AnnounceRequest;
    expect(r.numwant).toBe(expected);
  });
  it('clamps counters beyond 2^53', () => {
    const r = decodeHttpAnnounce(
      announceQuery({ extra: 'uploaded=18446744073709551615' }),
      ctx,
      defaultCodecLimits,
    );
    expect((r as AnnounceRequest).uploaded).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
  });
});

describe('HTTP responses', () => {
  const request = decodeHttpAnnounce(announceQuery({}), ctx, defaultCodecLimits) as AnnounceRequest;
  const peers = [
    { kind: 'tcp' as const, compact: compactPeer('1.2.3.4', 80)!, peerId: peerId('-TR3000-') },
    { kind: 'tcp' as const, compact: compactPeer('2001:db8::1', 443)!, peerId: peerId('-AR1360-') },
  ];
  const result = { complete: 2, incomplete: 3, downloaded: 4, interval: 600, minInterval: 60, peers };

  it('puts IPv4 peers in peers and IPv6 in peers6 (BEP 23, BEP 7)', () => {
    const body = bencode.decode(encodeHttpAnnounce(result, request)) as Record<string, unknown>;
    expect(body.complete).toBe(2);
    expect(body.incomplete).toBe(3);
    expect(body['min interval']).toBe(60);
    expect(Buffer.from(body.peers as Uint8Array).toString('hex')).toBe('010203040050');
    expect(uncompactPeer(body.peers6 as Uint8Array)).toEqual({ ip: '2001:db8:0:0:0:0:0:1', port: 443 });
  });
  it('gives a dictionary list for compact=0, without peer ids for no_peer_id=1', () => {
    const full = bencode.decode(encodeHttpAnnounce(result, { ...request, compact: false })) as {
      peers: Array<Record<string, Uint8Array | number>>;
    };
    const first = full.peers[0]!;
    expect(Buffer.from(first.ip as Uint8Array).toString()).toBe('1.2.3.4');
    expect(first.port).toBe(80);
    expect(Buffer.from(first['peer id'] as Uint8Array).toString('latin1')).toBe('-TR3000-aaaaaaaa\0\0\0\0');
    const bare = bencode.decode(
      encodeHttpAnnounce(result, { ...request, compact: false, noPeerId: true }),
    ) as {
      peers: Array<Record<string, unknown>>;
    };
    expect(bare.peers[0]!['peer id']).toBeUndefined();
  });
  it('encodes scrape files keyed by raw hash in byte order (BEP 48)', () => {
    const files = new Map([
      ['ff'.repeat(20) as InfoHash, { complete: 1, incomplete: 2, downloaded: 3 }],
      ['00'.repeat(20) as InfoHash, { complete: 4, incomplete: 5, downloaded: 6 }],
    ]);
    const raw = Buffer.from(encodeHttpScrape({ files }));
    expect(raw.indexOf(Buffer.alloc(20, 0))).toBeLessThan(raw.indexOf(Buffer.alloc(20, 0xff)));
    const body = bencode.decode(raw) as { files: Record<string, Record<string, number>> };
    expect(Object.keys(body.files)).toHaveLength(2);
  });
  it('decodes repeated info_hash in a scrape and caps their number', () => {
    const one = escapeBytes(new Uint8Array(20));
    const r = decodeHttpScrape(`info_hash=${one}&info_hash=${one}`, ctx, defaultCodecLimits);
    expect(isTrackerError(r) ? r : r.infoHashes.length).toBe(2);
    const many = decodeHttpScrape(Array(100).fill(`info_hash=${one}`).join('&'), ctx, defaultCodecLimits);
    expect(isTrackerError(many) && many.error).toBe('TRK_TOO_MANY_HASHES');
  });
});

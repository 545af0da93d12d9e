import { describe, expect, it } from 'vitest';
import { connectionIds } from '../src/codec/connection-id.ts';
import { defaultCodecLimits } from '../src/codec/limits.ts';
import { decodeUdpPacket, encodeUdpAnnounce, passkeyFromPath } from '../src/codec/udp.ts';
import { sipHash24, sipKey } from '../src/internal/siphash.ts';
import { peerId, udpAnnounce, udpConnect } from './helpers/announce.ts';

describe('SipHash-2-4', () => {
  // Vectors from the reference implementation (vectors.h): key 00..0f, message 00..(n-1).
  it.each([
    [0, '310e0edd47db6f72'],
    [1, 'fd67dc93c539f874'],
    [7, '37d1018bf50002ab'],
    [8, '6224939a79f5f593'],
    [15, 'e545be4961ca29a1'],
    [63, '724506eb4c328a95'],
  ])('matches the reference for %i bytes', (n, hex) => {
    const key = sipKey(Uint8Array.from({ length: 16 }, (_, i) => i));
    const out = new Uint8Array(8);
    sipHash24(
      key,
      Uint8Array.from({ length: n }, (_, i) => i),
      out,
    );
    expect(Buffer.from(out).toString('hex')).toBe(hex);
  });
});

describe('UDP connection ids', () => {
  const ids = connectionIds(new Uint8Array(16).fill(7), 60_000);
  const t = 1_000_000_000;
  it('verifies its own id in this window and the next, not after', () => {
    const id = ids.issue('10.0.0.1', 5000, t);
    expect(ids.verify(id, '10.0.0.1', 5000, t)).toBe(true);
    expect(ids.verify(id, '10.0.0.1', 5000, t + 60_000)).toBe(true);
    expect(ids.verify(id, '10.0.0.1', 5000, t + 180_000)).toBe(false);
  });
  it('is bound to address and port and key', () => {
    const id = ids.issue('10.0.0.1', 5000, t);
    expect(ids.verify(id, '10.0.0.2', 5000, t)).toBe(false);
    expect(ids.verify(id, '10.0.0.1', 5001, t)).toBe(false);
    expect(connectionIds(new Uint8Array(16).fill(8), 60_000).verify(id, '10.0.0.1', 5000, t)).toBe(false);
  });
  it('refuses a guessed id (property over a seeded sample)', () => {
    let seed = 12345;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed & 0xff;
    };
    for (let i = 0; i < 2000; i++) {
      const guess = Uint8Array.from({ length: 8 }, rnd);
      expect(ids.verify(guess, '10.0.0.1', 5000, t), `seed 12345, try ${i}`).toBe(false);
    }
  });
});

describe('UDP packets', () => {
  const limits = defaultCodecLimits;
  it('decodes connect, and drops a connect without the protocol id', () => {
    expect(decodeUdpPacket(udpConnect(9), '1.1.1.1', limits)).toEqual({ kind: 'connect', transactionId: 9 });
    const bad = udpConnect(9);
    bad[0] = 1;
    expect(decodeUdpPacket(bad, '1.1.1.1', limits)).toBeNull();
  });
  it('decodes an announce, capping numwant', () => {
    const packet = udpAnnounce({
      connectionId: new Uint8Array(8),
      transactionId: 5,
      infoHash: new Uint8Array(20).fill(0xab),
      peerId: peerId('-TR3000-'),
      numwant: 1_000_000,
      left: 0n,
      event: 1,
    });
    const m = decodeUdpPacket(packet, '1.1.1.1', limits);
    expect(m?.kind).toBe('announce');
    if (m?.kind !== 'announce') return;
    expect(m.request).toMatchObject({
      infoHash: 'ab'.repeat(20),
      event: 'completed',
      left: 0,
      numwant: 200,
      port: 6881,
    });
  });
  it('decodes a datagram alike as a Buffer, a Buffer slice at an offset and a plain Uint8Array (counters clamped)', () => {
    const packet = udpAnnounce({
      connectionId: new Uint8Array(8),
      transactionId: 6,
      infoHash: Uint8Array.from({ length: 20 }, (_, i) => i * 13),
      peerId: peerId('-TR3000-'),
      left: 123_456_789_012n,
    });
    packet.writeBigUInt64BE(2n ** 60n, 56); // downloaded beyond 2^53: clamped
    packet.writeBigInt64BE(-5n, 72); // uploaded negative (a buggy client): 0
    const inBigger = Buffer.alloc(packet.length + 7);
    packet.copy(inBigger, 7);
    const forms = [packet, inBigger.subarray(7), new Uint8Array(packet)];
    const requests = forms.map((f) => {
      const m = decodeUdpPacket(f, '1.1.1.1', limits);
      if (m?.kind !== 'announce') throw new Error('not an announce');
      return m.request;
    });
    expect(requests[0]).toMatchObject({
      infoHash: Buffer.from(Uint8Array.from({ length: 20 }, (_, i) => i * 13)).toString('hex'),
      left: 123_456_789_012,
      downloaded: Number.MAX_SAFE_INTEGER,
      uploaded: 0,
    });
    expect(requests[1]).toEqual(requests[0]);
    expect(requests[2]).toEqual(requests[0]);
  });
  it("keeps the peer id as its own bytes, not a view that would keep the datagram's buffer alive", () => {
    const packet = udpAnnounce({
      connectionId: new Uint8Array(8),
      transactionId: 5,
      infoHash: new Uint8Array(20).fill(0xab),
      peerId: peerId('-TR3000-'),
    });
    const m = decodeUdpPacket(packet, '1.1.1.1', limits);
    if (m?.kind !== 'announce') throw new Error('not an announce');
    expect(m.request.peerId.buffer).not.toBe(packet.buffer);
    packet.fill(0);
    expect(Buffer.from(m.request.peerId).toString('latin1', 0, 8)).toBe('-TR3000-');
  });
  it('reads a passkey from BEP 41 URL data', () => {
    const path = Buffer.from('/abcdefgh12345678/announce');
    const extra = Buffer.concat([Buffer.from([1, 2, path.length]), path, Buffer.from([0])]);
    const packet = udpAnnounce({
      connectionId: new Uint8Array(8),
      transactionId: 5,
      infoHash: new Uint8Array(20),
      peerId: peerId(),
      extra,
    });
    const m = decodeUdpPacket(packet, '1.1.1.1', limits);
    expect(m?.kind === 'announce' && m.request.passkey).toBe('abcdefgh12345678');
    expect(passkeyFromPath('/announce')).toBeNull();
  });
  it.each([
    ['a 15-byte packet', Buffer.alloc(15), null],
    ['an empty packet', Buffer.alloc(0), null],
  ])('is silent on %s', (_n, packet, expected) => {
    expect(decodeUdpPacket(packet, '1.1.1.1', limits)).toBe(expected);
  });
  it.each([
    ['an unknown action', 7, 16, 'TRK_UNKNOWN_ACTION'],
    ['a short announce', 1, 60, 'TRK_BAD_REQUEST'],
  ])('answers %s with an error', (_n, action, size, code) => {
    const b = Buffer.alloc(size);
    b.writeUInt32BE(action, 8);
    b.writeUInt32BE(77, 12);
    const m = decodeUdpPacket(b, '1.1.1.1', limits);
    expect(m).toMatchObject({ kind: 'error', transactionId: 77, error: { error: code } });
  });
  it('answers an IPv4 socket with IPv4 peers only', () => {
    const peers = [
      {
        kind: 'tcp' as const,
        compact: Buffer.from('0102030400500', 'hex').subarray(0, 6),
        peerId: new Uint8Array(20),
      },
      { kind: 'tcp' as const, compact: new Uint8Array(18), peerId: new Uint8Array(20) },
    ];
    const out = encodeUdpAnnounce(
      1,
      { complete: 1, incomplete: 2, downloaded: 0, interval: 600, minInterval: 60, peers },
      false,
    );
    expect(out.length).toBe(26);
    expect(out.readUInt32BE(12)).toBe(2);
    expect(out.readUInt32BE(16)).toBe(1);
  });
  it('never throws on random datagrams (seeded fuzz)', () => {
    let seed = 42;
    const rnd = () => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed;
    };
    for (let i = 0; i < 5000; i++) {
      const len = rnd() % 200;
      const b = Buffer.alloc(len);
      for (let j = 0; j < len; j++) b[j] = rnd() & 0xff;
      if (len >= 12 && i % 2 === 0) b.writeUInt32BE(rnd() % 4, 8);
      expect(() => decodeUdpPacket(b, '1.1.1.1', limits), `seed 42, iteration ${i}`).not.toThrow();
    }
  });
});

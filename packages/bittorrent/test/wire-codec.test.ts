import { describe, expect, it } from 'vitest';
import { seededRandom } from '../src/timers.ts';
import type { Transport } from '../src/transport.ts';
import {
  encode,
  encodeHandshake,
  encodeInto,
  encodePieceHeader,
  MessageWriter,
  type WireDecoded,
  WireDecoder,
  WireErrorCode,
  type WireMessage,
} from '../src/wire/index.ts';

const infoHash = Uint8Array.from({ length: 20 }, (_, i) => i + 1);
const peerId = Uint8Array.from({ length: 20 }, (_, i) => 200 - i);

/** One of every message, with field values that exercise all four bytes of each u32. */
const samples: WireMessage[] = [
  { type: 'keep-alive' },
  { type: 'choke' },
  { type: 'unchoke' },
  { type: 'interested' },
  { type: 'not-interested' },
  { type: 'have', index: 0x01020304 },
  { type: 'bitfield', bits: Uint8Array.of(0xff, 0x80) },
  { type: 'request', index: 7, begin: 0x4000, length: 0x4000 },
  { type: 'piece', index: 3, begin: 0x10000, block: Uint8Array.from({ length: 300 }, (_, i) => i & 0xff) },
  { type: 'cancel', index: 9, begin: 0xfffc000, length: 100 },
  { type: 'port', port: 6881 },
  { type: 'suggest', index: 11 },
  { type: 'have-all' },
  { type: 'have-none' },
  { type: 'reject', index: 12, begin: 16384, length: 16384 },
  { type: 'allowed-fast', index: 13 },
  { type: 'extended', extId: 0, payload: new TextEncoder().encode('d1:md11:ut_metadatai1eee') },
  { type: 'extended', extId: 3, payload: Uint8Array.of(1, 2, 3) },
  { type: 'hash-request', payload: new Uint8Array(48) },
  { type: 'hashes', payload: Uint8Array.of(9, 9) },
  { type: 'hash-reject', payload: new Uint8Array(48) },
];

function plain(m: WireDecoded | undefined): unknown {
  if (m === undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) out[k] = v instanceof Uint8Array ? Array.from(v) : v;
  return out;
}

function drain(d: WireDecoder): WireDecoded[] {
  const out: WireDecoded[] = [];
  for (let m = d.next(); m !== undefined; m = d.next()) out.push(m);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe('wire codec', () => {
  it.each(samples.map((m) => [m.type, m] as const))('round-trips %s', (_t, msg) => {
    const d = new WireDecoder({ handshake: false });
    d.push(encode(msg));
    expect(drain(d).map(plain)).toEqual([plain(msg)]);
    expect(d.bufferedBytes).toBe(0);
  });

  it('encodes the BEP 3 byte layout', () => {
    expect(Array.from(encode({ type: 'request', index: 1, begin: 2, length: 16384 }))).toEqual([
      0, 0, 0, 13, 6, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0x40, 0,
    ]);
    expect(Array.from(encode({ type: 'have-all' }))).toEqual([0, 0, 0, 1, 0x0e]);
    expect(Array.from(encode({ type: 'port', port: 0x1ae1 }))).toEqual([0, 0, 0, 3, 9, 0x1a, 0xe1]);
  });

  it('round-trips the handshake with its reserved bits', () => {
    for (const flags of [
      { fast: true, extended: true, dht: true, v2: false },
      { fast: false, extended: false, dht: false, v2: true },
    ]) {
      const bytes = encodeHandshake({ infoHash, peerId, ...flags });
      expect(bytes.length).toBe(68);
      const d = new WireDecoder();
      d.push(bytes);
      const hs = d.next();
      expect(hs?.type).toBe('handshake');
      if (hs?.type !== 'handshake') return;
      expect({ fast: hs.fast, extended: hs.extended, dht: hs.dht, v2: hs.v2 }).toEqual(flags);
      expect(Array.from(hs.infoHash)).toEqual(Array.from(infoHash));
      expect(Array.from(hs.peerId)).toEqual(Array.from(peerId));
    }
    // Reserved bit positions as libtorrent sends them.
    const hs = encodeHandshake({ infoHash, peerId, fast: true, extended: true, dht: true });
    expect(Array.from(hs.subarray(20, 28))).toEqual([0, 0, 0, 0, 0, 0x10, 0, 0x05]);
  });

  it('decodes a whole stream identically at every split point', () => {
    const stream = concat([encodeHandshake({ infoHash, peerId, fast: true }), ...samples.map(encode)]);
    const whole = new WireDecoder();
    whole.push(stream);
    const expected = drain(whole).map(plain);
    expect(expected.length).toBe(samples.length + 1);
    for (let a = 0; a <= stream.length; a++) {
      const d = new WireDecoder();
      d.push(stream.subarray(0, a));
      const got = drain(d);
      d.push(stream.subarray(a));
      got.push(...drain(d));
      expect(got.map(plain), `split at ${a}`).toEqual(expected);
    }
    // And byte by byte (three chunks per frame boundary and more).
    const d = new WireDecoder();
    const got: WireDecoded[] = [];
    for (let i = 0; i < stream.length; i++) {
      d.push(stream.subarray(i, i + 1));
      got.push(...drain(d));
    }
    expect(got.map(plain)).toEqual(expected);
  });

  it('transient mode: decodes the same from one reused read buffer, at every split and chunk size', () => {
    const big = {
      type: 'piece',
      index: 5,
      begin: 0,
      block: Uint8Array.from({ length: 20000 }, (_, i) => (i * 7) & 0xff),
    } as const;
    const stream = concat([
      encodeHandshake({ infoHash, peerId, fast: true }),
      ...samples.map(encode),
      encode(big),
    ]);
    const whole = new WireDecoder();
    whole.push(stream);
    // compared as JSON text: deep equality of long byte arrays is too slow for 600 decodes
    const expected = JSON.stringify(drain(whole).map(plain));
    // Like TcpTransport with reuseReadBuffer: each read lands in the same buffer, which is
    // scribbled over after the decoder was drained and told to retain.
    const readBuffer = new Uint8Array(64 * 1024);
    const decodeIn = (sizes: (i: number) => number): string => {
      const d = new WireDecoder({ transient: true });
      const got: unknown[] = [];
      for (let at = 0, i = 0; at < stream.length; i++) {
        const n = Math.min(sizes(i), stream.length - at);
        readBuffer.set(stream.subarray(at, at + n));
        at += n;
        d.push(readBuffer.subarray(0, n));
        // a piece block is only valid until the next call: copy it as the session does
        for (let m = d.next(); m !== undefined; m = d.next()) got.push(plain(m));
        d.retain();
        readBuffer.fill(0xee);
      }
      expect(d.bufferedBytes).toBe(0);
      return JSON.stringify(got);
    };
    for (let a = 1; a <= 600; a++) {
      expect(
        decodeIn((i) => (i === 0 ? a : stream.length)),
        `split at ${a}`,
      ).toEqual(expected);
    }
    for (const size of [1, 2, 3, 5, 13, 100, 1000, 16397, 20000]) {
      expect(
        decodeIn(() => size),
        `reads of ${size}`,
      ).toEqual(expected);
    }
    // Messages other than piece own their bytes: they survive the read buffer being reused.
    const d = new WireDecoder({ transient: true, handshake: false });
    const ext = encode({ type: 'extended', extId: 2, payload: Uint8Array.of(4, 5, 6) });
    readBuffer.set(ext);
    d.push(readBuffer.subarray(0, ext.length));
    const m = d.next();
    d.retain();
    readBuffer.fill(0);
    expect(m?.type === 'extended' ? Array.from(m.payload) : []).toEqual([4, 5, 6]);
  });

  it('returns piece blocks as views into the received chunk (no copy)', () => {
    const bytes = encode({ type: 'piece', index: 1, begin: 0, block: new Uint8Array(16384).fill(7) });
    const d = new WireDecoder({ handshake: false });
    d.push(bytes);
    const m = d.next();
    expect(m?.type).toBe('piece');
    if (m?.type === 'piece') {
      expect(m.block.buffer).toBe(bytes.buffer);
      expect(m.block.byteOffset).toBe(13);
    }
  });

  it('encodes into a caller buffer and piece headers alone', () => {
    const buf = new Uint8Array(64).fill(0xaa);
    const n = encodeInto({ type: 'have', index: 5 }, buf, 3);
    expect(n).toBe(9);
    expect(Array.from(buf.subarray(3, 12))).toEqual([0, 0, 0, 5, 4, 0, 0, 0, 5]);
    expect(buf[2]).toBe(0xaa);
    expect(buf[12]).toBe(0xaa);
    expect(() => encodeInto({ type: 'have', index: 5 }, buf, 60)).toThrow(RangeError);
    const block = Uint8Array.of(1, 2, 3);
    const header = new Uint8Array(13);
    encodePieceHeader(4, 32, block.length, header, 0);
    expect(concat([header, block])).toEqual(encode({ type: 'piece', index: 4, begin: 32, block }));
  });

  it("the writer's request fast path writes what write({ type: 'request' }) writes, in order", () => {
    const sent: Uint8Array[] = [];
    const transport = {
      closed: false,
      write: (chunk: Uint8Array) => {
        sent.push(chunk.slice());
        return true;
      },
    } as unknown as Transport;
    const fast = new MessageWriter(transport, 40);
    const reference: Uint8Array[] = [];
    const requests = [
      [0, 0, 16384],
      [0x01020304, 0x05060708, 0x090a0b0c],
      [0xffffffff, 0xfffc000, 1],
    ] as const;
    // interleaved with other messages, across slab ends (40 bytes: two requests and a bit)
    for (const [index, begin, length] of requests) {
      fast.write({ type: 'have', index });
      fast.writeRequest(index, begin, length);
      reference.push(encode({ type: 'have', index }), encode({ type: 'request', index, begin, length }));
    }
    fast.flush();
    expect(concat(sent)).toEqual(concat(reference));
  });
});

describe('wire decoder errors', () => {
  const frame = (...bytes: number[]) => Uint8Array.from(bytes);
  const cases: Array<{ name: string; bytes: Uint8Array; code: string; fatal: boolean; pieceCount?: number }> =
    [
      {
        name: 'oversized length prefix',
        bytes: frame(0x00, 0x20, 0, 0, 7),
        code: WireErrorCode.frameTooLarge,
        fatal: true,
      },
      { name: 'unknown id', bytes: frame(0, 0, 0, 1, 99), code: WireErrorCode.unknownMessage, fatal: false },
      {
        name: 'choke with payload',
        bytes: frame(0, 0, 0, 2, 0, 1),
        code: WireErrorCode.badLength,
        fatal: false,
      },
      { name: 'short have', bytes: frame(0, 0, 0, 3, 4, 0, 0), code: WireErrorCode.badLength, fatal: false },
      {
        name: 'long request',
        bytes: frame(0, 0, 0, 14, 6, ...new Array(13).fill(0)),
        code: WireErrorCode.badLength,
        fatal: false,
      },
      {
        name: 'short piece',
        bytes: frame(0, 0, 0, 5, 7, 0, 0, 0, 0),
        code: WireErrorCode.badLength,
        fatal: false,
      },
      {
        name: 'port too long',
        bytes: frame(0, 0, 0, 4, 9, 0, 1, 2),
        code: WireErrorCode.badLength,
        fatal: false,
      },
      { name: 'empty extended', bytes: frame(0, 0, 0, 1, 20), code: WireErrorCode.badLength, fatal: false },
      {
        name: 'request over 16 KiB',
        bytes: encode({ type: 'request', index: 0, begin: 0, length: 16385 }),
        code: WireErrorCode.badRequestLength,
        fatal: false,
      },
      {
        name: 'zero-length request',
        bytes: encode({ type: 'request', index: 0, begin: 0, length: 0 }),
        code: WireErrorCode.badRequestLength,
        fatal: false,
      },
      {
        name: 'have out of range',
        bytes: encode({ type: 'have', index: 10 }),
        code: WireErrorCode.indexOutOfRange,
        fatal: false,
        pieceCount: 10,
      },
      {
        name: 'request out of range',
        bytes: encode({ type: 'request', index: 10, begin: 0, length: 1 }),
        code: WireErrorCode.indexOutOfRange,
        fatal: false,
        pieceCount: 10,
      },
      {
        name: 'bitfield with spare bits',
        bytes: encode({ type: 'bitfield', bits: Uint8Array.of(0xff, 0xe0) }),
        code: WireErrorCode.badBitfield,
        fatal: false,
        pieceCount: 10,
      },
      {
        name: 'bitfield too short',
        bytes: encode({ type: 'bitfield', bits: Uint8Array.of(0xff) }),
        code: WireErrorCode.badBitfield,
        fatal: false,
        pieceCount: 10,
      },
    ];

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const d = new WireDecoder({ handshake: false, maxFrameLength: 1 << 20, pieceCount: c.pieceCount });
    d.push(c.bytes);
    d.push(encode({ type: 'unchoke' }));
    const m = d.next();
    expect(m?.type).toBe('error');
    if (m?.type !== 'error') return;
    expect(m.error.code).toBe(c.code);
    expect(m.fatal).toBe(c.fatal);
    // A non-fatal error skipped exactly its frame; a fatal one stops the stream.
    expect(plain(d.next())).toEqual(c.fatal ? undefined : { type: 'unchoke' });
  });

  it('accepts a bitfield of the right size with spare bits clear', () => {
    const d = new WireDecoder({ handshake: false, pieceCount: 10 });
    d.push(encode({ type: 'bitfield', bits: Uint8Array.of(0xff, 0xc0) }));
    expect(d.next()?.type).toBe('bitfield');
  });

  it('rejects a bad handshake from its first byte', () => {
    const d = new WireDecoder();
    d.push(new TextEncoder().encode('GET / HTTP/1.1'));
    const m = d.next();
    expect(m?.type === 'error' && m.error.code).toBe(WireErrorCode.badHandshake);
    expect(d.hasFailed).toBe(true);
    d.push(encode({ type: 'choke' }));
    expect(d.next()).toBeUndefined();
  });

  it('rejects a handshake with the wrong protocol string', () => {
    const bytes = encodeHandshake({ infoHash, peerId });
    bytes[5] = 0x21;
    const d = new WireDecoder();
    d.push(bytes);
    const m = d.next();
    expect(m?.type === 'error' && m.error.code).toBe(WireErrorCode.badHandshake);
  });

  it('fails on an oversized prefix before the body arrives', () => {
    const d = new WireDecoder({ handshake: false });
    d.push(frame(0x7f, 0xff, 0xff, 0xff));
    const m = d.next();
    expect(m?.type === 'error' && m.fatal).toBe(true);
    expect(d.bufferedBytes).toBe(0);
  });
});

describe('wire decoder fuzz', () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
  const iterations = Number(process.env.FUZZ_ITERATIONS ?? 3000);
  const valid = concat([encodeHandshake({ infoHash, peerId }), ...samples.map(encode)]);

  /** Feeds `bytes` in random chunks; never throws, always terminates, output bounded. */
  function feed(bytes: Uint8Array, rnd: () => number, pieceCount?: number): number {
    const d = new WireDecoder({ handshake: rnd() < 0.5, pieceCount, maxFrameLength: 4096 });
    let at = 0;
    let count = 0;
    while (at < bytes.length) {
      const n = 1 + Math.floor(rnd() * 40);
      d.push(bytes.subarray(at, at + n));
      at += n;
      for (let m = d.next(); m !== undefined; m = d.next()) {
        count++;
        if (count > bytes.length + 1) throw new Error('decoder yields more messages than bytes');
      }
    }
    return count;
  }

  it(`random bytes and mutations of valid streams never throw (seed ${seed})`, () => {
    const rnd = seededRandom(seed);
    try {
      for (let i = 0; i < iterations; i++) {
        const mode = i % 3;
        let bytes: Uint8Array;
        if (mode === 0) {
          bytes = Uint8Array.from({ length: Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256));
        } else {
          bytes = valid.slice();
          const flips = 1 + Math.floor(rnd() * 8);
          for (let f = 0; f < flips; f++) {
            const at = Math.floor(rnd() * bytes.length);
            bytes[at] =
              mode === 1 ? Math.floor(rnd() * 256) : (bytes[at] as number) ^ (1 << Math.floor(rnd() * 8));
          }
          if (rnd() < 0.3) bytes = bytes.subarray(0, Math.floor(rnd() * bytes.length));
        }
        feed(bytes, rnd, rnd() < 0.5 ? 1 + Math.floor(rnd() * 40) : undefined);
      }
    } catch (err) {
      throw new Error(`wire fuzz failed; rerun with FUZZ_SEED=${seed}`, { cause: err });
    }
  });
});

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeBencode } from '../src/bencode.ts';
import {
  decodeExtensionHandshake,
  decodeMetadataMessage,
  decodePex,
  encodeExtensionHandshake,
  encodeMetadataMessage,
  encodePex,
  METADATA_PIECE_SIZE,
  MetadataAssembler,
  metadataReply,
  PexFlag,
  PexInbox,
  PexOutbox,
} from '../src/extensions/index.ts';
import { seededRandom } from '../src/timers.ts';

const sha1 = async (d: Uint8Array) => new Uint8Array(createHash('sha1').update(d).digest());
const enc = (s: string) => new TextEncoder().encode(s);

describe('BEP 10 extension handshake', () => {
  it('round-trips every field we use', () => {
    const h = {
      m: { ut_metadata: 1, ut_pex: 2 },
      v: 'Swarmcast 0.1',
      p: 6881,
      reqq: 500,
      metadataSize: 31_337,
      yourip: Uint8Array.of(127, 0, 0, 1),
      ipv6: new Uint8Array(16).fill(1),
      ipv4: Uint8Array.of(10, 0, 0, 2),
      uploadOnly: true,
    };
    const d = decodeExtensionHandshake(encodeExtensionHandshake(h));
    expect(d).toEqual({ ok: true, value: h });
  });

  it('ignores unknown keys and drops malformed optional ones', () => {
    const d = decodeExtensionHandshake(
      encodeBencode({
        m: { lt_donthave: 7 },
        e: 1,
        p: 70000,
        yourip: Uint8Array.of(1, 2, 3),
        reqq: -5,
        v: 9,
      }),
    );
    expect(d).toEqual({ ok: true, value: { m: { lt_donthave: 7 } } });
  });

  it.each([
    ['not bencode', enc('d1:m')],
    ['not a dictionary', enc('li1ee')],
    ['m not a dictionary', encodeBencode({ m: 5 })],
    ['m id out of range', encodeBencode({ m: { ut_pex: 300 } })],
    ['metadata_size far too large', encodeBencode({ m: {}, metadata_size: 1 << 30 })],
    ['metadata_size zero', encodeBencode({ m: {}, metadata_size: 0 })],
  ])('refuses %s', (_n, bytes) => {
    const d = decodeExtensionHandshake(bytes);
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.error.code).toBe('BT_EXT_BAD_HANDSHAKE');
  });
});

describe('BEP 9 ut_metadata', () => {
  it('round-trips request, data (with trailing bytes as a view) and reject', () => {
    for (const m of [
      { type: 'request', piece: 3 },
      { type: 'reject', piece: 0 },
      { type: 'data', piece: 1, totalSize: 20_000, data: new Uint8Array(20_000 - 16_384).fill(9) },
    ] as const) {
      const bytes = encodeMetadataMessage(m);
      const d = decodeMetadataMessage(bytes);
      expect(d).toEqual({ ok: true, value: m });
      if (d.ok && d.value.type === 'data') expect(d.value.data.buffer).toBe(bytes.buffer);
    }
    expect(new TextDecoder().decode(encodeMetadataMessage({ type: 'request', piece: 0 }))).toBe(
      'd8:msg_typei0e5:piecei0ee',
    );
  });

  it.each([
    ['no msg_type', encodeBencode({ piece: 0 })],
    ['negative piece', encodeBencode({ msg_type: 0, piece: -1 })],
    ['data without total_size', encodeBencode({ msg_type: 1, piece: 0 })],
    ['unknown msg_type', encodeBencode({ msg_type: 9, piece: 0 })],
    ['garbage', Uint8Array.of(0xff, 0x00)],
  ])('refuses %s', (_n, bytes) => {
    const d = decodeMetadataMessage(bytes);
    expect(d.ok ? 'ok' : d.error.code).toBe('BT_METADATA_BAD_MESSAGE');
  });

  // An info dictionary of three metadata pieces (the last one short).
  const info = encodeBencode({
    name: 'episode.mp3',
    'piece length': 262_144,
    length: 123_456_789,
    pieces: Uint8Array.from({ length: 40_000 }, (_, i) => (i * 31) & 0xff),
  });

  it('assembles pieces out of order from replies and verifies the info-hash', async () => {
    const infoHash = await sha1(info);
    const asm = new MetadataAssembler(info.length, infoHash, sha1);
    expect(asm.pieceCount).toBe(3);
    const asked = [asm.nextRequest(), asm.nextRequest(), asm.nextRequest(), asm.nextRequest()];
    expect(asked).toEqual([0, 1, 2, undefined]);
    asm.requestFailed(1);
    expect(asm.nextRequest()).toBe(1);
    for (const piece of [2, 0, 1]) {
      const reply = decodeMetadataMessage(metadataReply(info, piece));
      if (!reply.ok || reply.value.type !== 'data') throw new Error('bad reply');
      expect(asm.add(reply.value.piece, reply.value.totalSize, reply.value.data)).toEqual({
        ok: true,
        value: true,
      });
    }
    expect(asm.add(0, info.length, info.subarray(0, METADATA_PIECE_SIZE))).toEqual({
      ok: true,
      value: false,
    });
    expect(asm.complete).toBe(true);
    const v = await asm.verify();
    expect(v.ok && Buffer.from(v.value).equals(Buffer.from(info))).toBe(true);
    expect(decodeMetadataMessage(metadataReply(info, 3))).toEqual({
      ok: true,
      value: { type: 'reject', piece: 3 },
    });
  });

  it('refuses pieces of the wrong size and starts over when the hash does not match', async () => {
    const asm = new MetadataAssembler(info.length, new Uint8Array(20), sha1);
    expect(asm.add(0, info.length + 1, info.subarray(0, METADATA_PIECE_SIZE)).ok).toBe(false);
    expect(asm.add(0, info.length, info.subarray(0, 100)).ok).toBe(false);
    expect(asm.add(5, info.length, info.subarray(0, 100)).ok).toBe(false);
    expect((await asm.verify()).ok).toBe(false);
    for (let p = 0; p < 3; p++) {
      asm.add(
        p,
        info.length,
        info.subarray(p * METADATA_PIECE_SIZE, Math.min(info.length, (p + 1) * METADATA_PIECE_SIZE)),
      );
    }
    const v = await asm.verify();
    expect(v.ok ? 'ok' : v.error.code).toBe('BT_METADATA_HASH_MISMATCH');
    expect(asm.complete).toBe(false);
    expect(asm.nextRequest()).toBe(0);
    expect(() => new MetadataAssembler(0, new Uint8Array(20), sha1)).toThrow(RangeError);
  });
});

describe('BEP 11 ut_pex', () => {
  it('round-trips IPv4 and IPv6 peers with flags', () => {
    const added = [
      { host: '10.0.0.1', port: 6881, flags: PexFlag.seed | PexFlag.reachable },
      { host: '192.168.1.20', port: 51413, flags: 0 },
      { host: '2001:db8::1', port: 443, flags: PexFlag.utp },
    ];
    const dropped = [
      { host: '10.0.0.9', port: 1 },
      { host: 'fe80::1:2', port: 2 },
    ];
    const d = decodePex(encodePex({ added, dropped }));
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.value.added.map((p) => [p.host, p.port, p.flags, p.family])).toEqual([
      ['10.0.0.1', 6881, PexFlag.seed | PexFlag.reachable, 'ipv4'],
      ['192.168.1.20', 51413, 0, 'ipv4'],
      ['2001:db8::1', 443, PexFlag.utp, 'ipv6'],
    ]);
    expect(d.value.dropped.map((p) => `${p.host}:${p.port}`)).toEqual(['10.0.0.9:1', 'fe80::1:2:2']);
  });

  it('sends at most 50 per list', () => {
    const many = Array.from({ length: 80 }, (_, i) => ({
      host: `10.0.${i >> 8}.${i & 255}`,
      port: 1000 + i,
    }));
    const d = decodePex(encodePex({ added: many, dropped: [] }));
    expect(d.ok && d.value.added.length).toBe(50);
  });

  it.each([
    ['added of a wrong length', encodeBencode({ added: new Uint8Array(7) })],
    ['added not bytes', encodeBencode({ added: 5 })],
    ['more than 100 peers', encodeBencode({ added: new Uint8Array(101 * 6).fill(1) })],
    ['not a dictionary', enc('le')],
  ])('refuses %s', (_n, bytes) => {
    const d = decodePex(bytes);
    expect(d.ok ? 'ok' : d.error.code).toBe('BT_PEX_BAD_MESSAGE');
  });

  it('tells each peer the difference, at most once a minute', () => {
    const out = new PexOutbox();
    const a = { host: '10.0.0.1', port: 1 };
    const b = { host: '10.0.0.2', port: 2 };
    const first = out.next(0, [a, b]);
    expect(first && decodePex(first)).toMatchObject({
      ok: true,
      value: { added: [{ port: 1 }, { port: 2 }] },
    });
    expect(out.next(30_000, [a])).toBeUndefined();
    const second = out.next(60_000, [a]);
    expect(second && decodePex(second)).toMatchObject({
      ok: true,
      value: { added: [], dropped: [{ port: 2 }] },
    });
    expect(out.next(200_000, [a])).toBeUndefined();
  });

  it('ignores messages faster than the BEP 11 rate and drops a peer that insists', () => {
    const inbox = new PexInbox();
    expect(inbox.admit(0)).toBe('accept');
    expect(inbox.admit(10_000)).toBe('ignore');
    expect(inbox.admit(60_000)).toBe('accept');
    const verdicts = Array.from({ length: 11 }, (_, i) => inbox.admit(60_001 + i));
    expect(verdicts.at(-1)).toBe('flood');
  });
});

describe('extension parsers fuzz', () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
  it(`random and mutated payloads never throw (seed ${seed})`, () => {
    const rnd = seededRandom(seed);
    const valid = [
      encodeExtensionHandshake({ m: { ut_metadata: 1, ut_pex: 2 }, v: 'x', p: 1, reqq: 2, metadataSize: 3 }),
      encodeMetadataMessage({ type: 'data', piece: 0, totalSize: 5, data: enc('hello') }),
      encodePex({ added: [{ host: '1.2.3.4', port: 5 }], dropped: [{ host: '::1', port: 6 }] }),
    ];
    try {
      for (let i = 0; i < 3000; i++) {
        let bytes: Uint8Array;
        if (i % 2 === 0) {
          bytes = Uint8Array.from({ length: Math.floor(rnd() * 80) }, () => Math.floor(rnd() * 256));
        } else {
          bytes = (valid[i % valid.length] as Uint8Array).slice();
          for (let f = 0; f < 1 + Math.floor(rnd() * 4); f++)
            bytes[Math.floor(rnd() * bytes.length)] = Math.floor(rnd() * 256);
        }
        decodeExtensionHandshake(bytes);
        decodeMetadataMessage(bytes);
        decodePex(bytes);
      }
    } catch (err) {
      throw new Error(`extension fuzz failed; rerun with FUZZ_SEED=${seed}`, { cause: err });
    }
  });
});

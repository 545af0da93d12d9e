import { describe, expect, it } from 'vitest';
import { memoryTransportPair } from '../src/memory-transport.ts';
import {
  PeerConnection,
  type PeerConnectionOptions,
  PeerErrorCode,
  type PeerEvents,
} from '../src/peer/index.ts';
import { VirtualTime } from '../src/sim/virtual-time.ts';
import type { CodedError, Transport } from '../src/transport.ts';
import { encode, encodeHandshake, WireDecoder, WireErrorCode, type WireMessage } from '../src/wire/index.ts';

const infoHash = new Uint8Array(20).fill(7);
const idA = new Uint8Array(20).fill(0xa);
const idB = new Uint8Array(20).fill(0xb);
const PIECE = 32 * 1024;
const layout = { pieceCount: 8, pieceSize: () => PIECE };

/** Records every event as a line and lets a test script reactions. */
class Recorder implements PeerEvents {
  log: string[] = [];
  blocks: Uint8Array[] = [];
  closeReason: CodedError | undefined;
  closedCount = 0;
  serve: ((conn: PeerConnection, i: number, b: number, l: number) => void) | undefined;
  owned = new Set<number>();
  handshake(): void {
    this.log.push('handshake');
  }
  pieces(): void {
    this.log.push('pieces');
  }
  have(_c: PeerConnection, i: number): void {
    this.log.push(`have ${i}`);
  }
  choked(): void {
    this.log.push('choked');
  }
  unchoked(): void {
    this.log.push('unchoked');
  }
  interest(_c: PeerConnection, yes: boolean): void {
    this.log.push(yes ? 'interested' : 'not-interested');
  }
  hasPiece(_c: PeerConnection, i: number): boolean {
    return this.owned.has(i);
  }
  request(c: PeerConnection, i: number, b: number, l: number): void {
    this.log.push(`request ${i}:${b}:${l}`);
    this.serve?.(c, i, b, l);
  }
  cancelled(_c: PeerConnection, i: number, b: number): void {
    this.log.push(`cancelled ${i}:${b}`);
  }
  block(_c: PeerConnection, i: number, b: number, data: Uint8Array): void {
    this.log.push(`block ${i}:${b}:${data.length}`);
    this.blocks.push(data);
  }
  requestEnded(_c: PeerConnection, i: number, b: number, _l: number, why: string): void {
    this.log.push(`ended ${i}:${b} ${why}`);
  }
  allowedFast(_c: PeerConnection, i: number): void {
    this.log.push(`allowed-fast ${i}`);
  }
  suggest(_c: PeerConnection, i: number): void {
    this.log.push(`suggest ${i}`);
  }
  port(_c: PeerConnection, p: number): void {
    this.log.push(`port ${p}`);
  }
  hashMessage(_c: PeerConnection, type: string, payload: Uint8Array): void {
    this.log.push(`${type} ${payload.length}`);
  }
  extended(_c: PeerConnection, id: number, payload: Uint8Array): void {
    this.log.push(`extended ${id}:${payload.length}`);
  }
  drain(): void {}
  closed(_c: PeerConnection, reason: CodedError | undefined): void {
    this.closedCount++;
    this.closeReason = reason;
    this.log.push(`closed ${reason?.code ?? ''}`);
  }
}

function opts(
  vt: VirtualTime,
  peerId: Uint8Array,
  extra: Partial<PeerConnectionOptions> = {},
): PeerConnectionOptions {
  return { infoHash, peerId, clock: vt, timers: vt, defer: vt.defer, layout, ...extra };
}

function pair(extraA: Partial<PeerConnectionOptions> = {}, extraB: Partial<PeerConnectionOptions> = {}) {
  const vt = new VirtualTime();
  const [ta, tb] = memoryTransportPair({ schedule: vt.defer });
  const a = new PeerConnection(ta, opts(vt, idA, extraA));
  const b = new PeerConnection(tb, opts(vt, idB, extraB));
  const ra = new Recorder();
  const rb = new Recorder();
  a.start(ra);
  b.start(rb);
  vt.runFor(10);
  return { vt, a, b, ra, rb };
}

/** Our connection against a raw transport end the test writes hostile bytes into. */
function hostile(extra: Partial<PeerConnectionOptions> = {}) {
  const vt = new VirtualTime();
  const [ours, theirs] = memoryTransportPair({ schedule: vt.defer });
  const conn = new PeerConnection(ours, opts(vt, idA, extra));
  const rec = new Recorder();
  rec.owned = new Set([0, 1, 2, 3, 4, 5, 6, 7]);
  conn.start(rec);
  const replies: string[] = [];
  const decoder = new WireDecoder();
  theirs.start({
    data: (c) => {
      decoder.push(c);
      for (let m = decoder.next(); m; m = decoder.next()) {
        replies.push(m.type === 'reject' ? `reject ${m.index}:${m.begin}:${m.length}` : m.type);
      }
    },
    drain: () => {},
    close: () => {},
  });
  const send = (...msgs: WireMessage[]) => {
    for (const m of msgs) theirs.write(encode(m));
    vt.runFor(10);
  };
  theirs.write(encodeHandshake({ infoHash, peerId: idB, fast: true, extended: true }));
  vt.runFor(10);
  return { vt, conn, rec, theirs: theirs as Transport, send, replies };
}

const full = (n: number) => new Uint8Array(Math.ceil(n / 8)).fill(0xff);

describe('PeerConnection between two peers', () => {
  it('handshakes, negotiates extensions, exchanges piece sets', () => {
    const { vt, a, b, ra, rb } = pair();
    expect(ra.log).toEqual(['handshake']);
    expect(rb.log).toEqual(['handshake']);
    expect(a.supportsFast && a.supportsExtended && b.supportsFast).toBe(true);
    expect(Array.from(a.peerId ?? [])).toEqual(Array.from(idB));
    b.sendBitfield(full(8), 8, 8);
    a.sendBitfield(new Uint8Array(1), 0, 8);
    vt.runFor(10);
    expect(a.peerIsSeed).toBe(true);
    expect(b.peerPieceCount).toBe(0);
    expect(ra.log.at(-1)).toBe('pieces');
    b.have(3);
    vt.runFor(10);
    expect(rb.log).toEqual(['handshake', 'pieces']);
    a.have(3);
    vt.runFor(10);
    expect(b.peerHas(3) && !b.peerHas(2)).toBe(true);
    expect(rb.log.at(-1)).toBe('have 3');
  });

  it('requests and serves blocks, measuring rates both ways', () => {
    const { vt, a, b, ra, rb } = pair();
    rb.owned = new Set([0, 1, 2, 3, 4, 5, 6, 7]);
    const data = Uint8Array.from({ length: 16384 }, (_, i) => (i * 7) & 0xff);
    rb.serve = (c, i, bg, l) => c.sendPiece(i, bg, data.subarray(0, l));
    a.interested(true);
    vt.runFor(10);
    expect(rb.log.at(-1)).toBe('interested');
    expect(a.request(0, 0, 16384)).toBe(false);
    b.unchoke();
    vt.runFor(10);
    expect(ra.log.at(-1)).toBe('unchoked');
    expect(a.request(0, 0, 16384)).toBe(true);
    expect(a.request(0, 0, 16384)).toBe(false);
    expect(a.request(0, 16384, 100)).toBe(true);
    expect(a.outstandingCount).toBe(2);
    vt.runFor(500);
    expect(ra.log.slice(-2)).toEqual(['block 0:0:16384', 'block 0:16384:100']);
    expect(Array.from(ra.blocks[0] ?? [])).toEqual(Array.from(data));
    expect(a.outstandingCount).toBe(0);
    expect(a.download.bytes).toBe(16484);
    expect(b.upload.bytes).toBe(16484);
    expect(a.downloadRate()).toBeGreaterThan(0);
    expect(b.uploadRate()).toBeGreaterThan(0);
  });

  it('choke under BEP 6 rejects queued requests explicitly', () => {
    const { vt, a, b, ra, rb } = pair();
    rb.owned = new Set([0, 1]);
    b.unchoke();
    vt.runFor(10);
    a.request(1, 0, 16384);
    a.request(1, 16384, 16384);
    vt.runFor(10);
    expect(b.pendingIncoming).toBe(2);
    b.choke();
    vt.runFor(10);
    expect(b.pendingIncoming).toBe(0);
    expect(ra.log.slice(-3).sort()).toEqual(['choked', 'ended 1:0 rejected', 'ended 1:16384 rejected']);
    expect(a.outstandingCount).toBe(0);
  });

  it('without BEP 6 a choke drops our outstanding requests', () => {
    const { vt, a, b, ra, rb } = pair({ fast: false }, { fast: false });
    rb.owned = new Set([0]);
    b.unchoke();
    vt.runFor(10);
    a.request(0, 0, 16384);
    vt.runFor(10);
    b.choke();
    vt.runFor(10);
    expect(ra.log.slice(-2)).toEqual(['ended 0:0 choked', 'choked']);
    expect(a.outstandingCount).toBe(0);
  });

  it('allowed-fast pieces are served while choked', () => {
    const { vt, a, b, ra, rb } = pair();
    rb.owned = new Set([0, 5]);
    rb.serve = (c, i, bg, l) => c.sendPiece(i, bg, new Uint8Array(l));
    b.allowFast(5);
    vt.runFor(10);
    expect(ra.log.at(-1)).toBe('allowed-fast 5');
    expect(a.canRequest(5) && !a.canRequest(0)).toBe(true);
    expect(a.request(5, 0, 16384)).toBe(true);
    vt.runFor(10);
    expect(ra.log.at(-1)).toBe('block 5:0:16384');
  });

  it('caps the pipeline by our limit and the remote reqq', () => {
    const { vt, a, b } = pair({ maxOutstandingRequests: 3 });
    b.unchoke();
    vt.runFor(10);
    expect(a.requestSlots).toBe(3);
    a.setRemoteRequestQueue(2);
    expect(a.requestSlots).toBe(2);
    expect([a.request(0, 0, 1), a.request(0, 16384, 1), a.request(1, 0, 1)]).toEqual([true, true, false]);
  });

  it('routes an incoming connection by the remote info-hash', () => {
    const vt = new VirtualTime();
    const [ta, tb] = memoryTransportPair({ schedule: vt.defer });
    const seen: Uint8Array[] = [];
    const a = new PeerConnection(ta, opts(vt, idA));
    const b = new PeerConnection(
      tb,
      opts(vt, idB, {
        infoHash: (h) => {
          seen.push(h);
          return h[0] === 7;
        },
      }),
    );
    const ra = new Recorder();
    const rb = new Recorder();
    a.start(ra);
    b.start(rb);
    vt.runFor(10);
    expect(seen.length).toBe(1);
    expect(ra.log).toEqual(['handshake']);
    expect(rb.log).toEqual(['handshake']);
  });

  it('closes on a wrong info-hash and on a connection to ourselves', () => {
    const wrong = pair({}, { infoHash: new Uint8Array(20).fill(1) });
    expect(wrong.ra.closeReason?.code ?? wrong.rb.closeReason?.code).toBe(PeerErrorCode.infoHashMismatch);
    const self = pair({}, { peerId: idA });
    expect([self.ra.closeReason?.code, self.rb.closeReason?.code]).toContain(PeerErrorCode.self);
  });

  it('keep-alives hold an idle connection open; silence closes it', () => {
    const { vt, a, ra, rb } = pair();
    vt.runFor(10 * 60_000);
    expect(a.closed).toBe(false);
    expect(ra.closedCount + rb.closedCount).toBe(0);
    const h = hostile();
    h.vt.runFor(149_000);
    expect(h.conn.closed).toBe(false);
    h.vt.runFor(2_000);
    expect(h.rec.closeReason?.code).toBe(PeerErrorCode.idle);
  });

  it('times out a handshake that never comes', () => {
    const vt = new VirtualTime();
    const [ours, theirs] = memoryTransportPair({ schedule: vt.defer });
    theirs.start({ data: () => {}, drain: () => {}, close: () => {} });
    const conn = new PeerConnection(ours, opts(vt, idA));
    const rec = new Recorder();
    conn.start(rec);
    vt.runFor(25_000);
    expect(rec.closeReason?.code).toBe(PeerErrorCode.handshakeTimeout);
    expect(theirs.closed).toBe(true);
  });

  it('times out requests of a snubbing peer and accepts the late block quietly', () => {
    const h = hostile();
    h.send({ type: 'have-all' }, { type: 'unchoke' });
    expect(h.conn.request(2, 0, 16384)).toBe(true);
    h.vt.runFor(31_000);
    expect(h.rec.log.at(-1)).toBe('ended 2:0 timeout');
    h.send({ type: 'piece', index: 2, begin: 0, block: new Uint8Array(16384) });
    expect(h.conn.closed).toBe(false);
    expect(h.rec.log.at(-1)).toBe('ended 2:0 timeout');
  });
});

describe('PeerConnection and aria2 1.36 piece announcements', () => {
  it('have-none, haves, then whole bitfields: a late bitfield only adds pieces, as haves', () => {
    const h = hostile();
    h.send(
      { type: 'have-none' },
      { type: 'have', index: 1 },
      { type: 'bitfield', bits: Uint8Array.of(0b1010_0000) },
    );
    // Piece 1 came by have; the bitfield omits it (it never takes pieces away) and adds 0 and 2.
    expect(h.conn.closed).toBe(false);
    expect(h.rec.log.filter((l) => l.startsWith('have'))).toEqual(['have 1', 'have 0', 'have 2']);
    expect(h.conn.remotePieces()?.[0]).toBe(0b1110_0000);
  });
});

describe('PeerConnection against a hostile peer', () => {
  const table: Array<{
    name: string;
    msgs: WireMessage[];
    raw?: Uint8Array;
    code: string;
    extra?: Partial<PeerConnectionOptions>;
  }> = [
    {
      name: 'data never requested',
      msgs: [{ type: 'piece', index: 1, begin: 0, block: new Uint8Array(10) }],
      code: PeerErrorCode.unrequestedData,
    },
    {
      name: 'piece index out of range',
      msgs: [{ type: 'have', index: 8 }],
      code: WireErrorCode.indexOutOfRange,
    },
    {
      name: 'have-all after a have',
      msgs: [{ type: 'have', index: 1 }, { type: 'have-all' }],
      code: PeerErrorCode.protocol,
    },
    {
      name: 'a second piece set',
      msgs: [{ type: 'have-none' }, { type: 'have-all' }],
      code: PeerErrorCode.protocol,
    },
    {
      name: 'bitfield with spare bits',
      msgs: [{ type: 'bitfield', bits: Uint8Array.of(0xff, 0x01) }],
      code: WireErrorCode.badBitfield,
      extra: { layout: { pieceCount: 9, pieceSize: () => PIECE } },
    },
    {
      name: 'oversized message',
      msgs: [],
      raw: Uint8Array.of(0x01, 0, 0, 0, 7),
      code: WireErrorCode.frameTooLarge,
    },
    {
      name: 'request above 16 KiB',
      msgs: [{ type: 'request', index: 0, begin: 0, length: 32768 }],
      code: WireErrorCode.badRequestLength,
    },
    {
      name: 'fast message without BEP 6',
      msgs: [{ type: 'have-all' }],
      code: PeerErrorCode.protocol,
      extra: { fast: false },
    },
    {
      name: 'flood of requests while choked',
      msgs: Array.from({ length: 2100 }, (_, i) => ({
        type: 'request' as const,
        index: i % 8,
        begin: 0,
        length: 16384,
      })),
      code: PeerErrorCode.requestFlood,
    },
    {
      name: 'flood of duplicate haves',
      msgs: [
        { type: 'have-all' },
        ...Array.from({ length: 10_001 }, () => ({ type: 'have' as const, index: 1 })),
      ],
      code: PeerErrorCode.haveFlood,
    },
  ];

  it.each(table.map((c) => [c.name, c] as const))('%s -> closed with its code', (_n, c) => {
    const h = hostile(c.extra);
    if (c.raw) h.theirs.write(c.raw);
    h.send(...c.msgs);
    expect(h.conn.closed).toBe(true);
    expect(h.rec.closeReason?.code).toBe(c.code);
    expect(h.theirs.closed).toBe(true);
    expect(h.rec.closedCount).toBe(1);
  });

  it('accepts the piece set after the extension handshake and port (what libtorrent sends)', () => {
    const h = hostile();
    h.send(
      { type: 'extended', extId: 0, payload: new TextEncoder().encode('d1:md11:ut_metadatai1eee') },
      { type: 'port', port: 6881 },
      { type: 'interested' },
      { type: 'bitfield', bits: full(8) },
    );
    expect(h.conn.closed).toBe(false);
    expect(h.conn.peerIsSeed).toBe(true);
  });

  it('a block of another length than requested is refused', () => {
    const h = hostile();
    h.send({ type: 'have-all' }, { type: 'unchoke' });
    expect(h.conn.request(2, 0, 16384)).toBe(true);
    h.send({ type: 'piece', index: 2, begin: 0, block: new Uint8Array(100) });
    expect(h.rec.closeReason?.code).toBe(PeerErrorCode.unrequestedData);
    expect(h.rec.log).toContain('ended 2:0 closed');
  });

  it('ignores a few unknown message ids, then gives up', () => {
    const h = hostile();
    const unknown = Uint8Array.of(0, 0, 0, 1, 0x63);
    for (let i = 0; i < 100; i++) h.theirs.write(unknown);
    h.vt.runFor(10);
    expect(h.conn.closed).toBe(false);
    h.theirs.write(unknown);
    h.vt.runFor(10);
    expect(h.rec.closeReason?.code).toBe(WireErrorCode.unknownMessage);
  });

  it('rejects (BEP 6) requests while choking, for missing pieces, and beyond the queue', () => {
    const h = hostile({ maxIncomingRequests: 2 });
    const replies: string[] = [];
    h.rec.owned = new Set([0]);
    h.send({ type: 'request', index: 0, begin: 0, length: 16384 });
    expect(h.rec.log.filter((l) => l.startsWith('request'))).toEqual([]);
    h.conn.unchoke();
    h.send(
      { type: 'request', index: 1, begin: 0, length: 16384 },
      { type: 'request', index: 0, begin: 0, length: 16384 },
      { type: 'request', index: 0, begin: 16384, length: 16384 },
      { type: 'request', index: 0, begin: 0, length: 100 },
    );
    replies.push(...h.rec.log.filter((l) => l.startsWith('request')));
    expect(replies).toEqual(['request 0:0:16384', 'request 0:16384:16384']);
    expect(h.conn.pendingIncoming).toBe(2);
    expect(h.replies).toEqual([
      'handshake',
      'reject 0:0:16384',
      'unchoke',
      'reject 1:0:16384',
      'reject 0:0:100',
    ]);
    h.send({ type: 'cancel', index: 0, begin: 0, length: 16384 });
    expect(h.conn.pendingIncoming).toBe(1);
    expect(h.rec.log.at(-1)).toBe('cancelled 0:0');
    expect(h.conn.closed).toBe(false);
  });

  it('rejects (BEP 6) a request outside the piece and keeps the peer (libtorrent pads v2 files)', () => {
    const h = hostile();
    h.rec.owned = new Set([1]);
    h.conn.unchoke();
    h.send({ type: 'request', index: 1, begin: PIECE - 100, length: 16384 });
    expect(h.rec.log.filter((l) => l.startsWith('request'))).toEqual([]);
    expect(h.replies).toEqual(['handshake', 'unchoke', 'reject 1:' + (PIECE - 100) + ':16384']);
    expect(h.conn.closed).toBe(false);
  });
});

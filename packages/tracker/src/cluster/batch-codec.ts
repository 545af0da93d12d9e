/**
 * The binary records tracker workers exchange: an announce sent to the worker that owns its
 * swarm and that worker's answer (store-link.ts), and a batch of announce observations for
 * the primary's fact publisher. Structured clone of the announce objects cost about 28 us
 * per announce each way (a third of the announce itself); these records cost about a
 * microsecond.
 *
 * Store record: u8 flags (kind, seeder, event, packed), 20 info-hash bytes, u8+bytes peer
 * key, u8+bytes compact address, u8+bytes peer id, f64 uploaded, downloaded, now, ttlMs,
 * u16 numwant.
 * Fact record: u8 flags (transport, event), 20 info-hash bytes, u8+bytes ip, u16+bytes
 * user agent (0xffff: none), u8+bytes peer id, f64 time, left, uploaded and downloaded delta.
 * Only this process family reads them (never outside bytes): lengths are bounded by the
 * codecs that admitted the announce, and a record that would not fit is not written.
 */
import type { AnnounceEvent } from '@swarmcast/platform';
import type { AnnounceObservation } from '../core/tracker-core.ts';
import { type TrackerError, type TrackerErrorCode, trackerError } from '../errors.ts';
import type { StoreAnnounce, StoreAnnounceResult } from '../store/swarm-store.ts';
import type { AnnounceRequest, InfoHash, PeerRecord, Transport } from '../types.ts';

const events: AnnounceEvent[] = ['started', 'completed', 'stopped', 'update'];
const transports: Transport[] = ['http', 'udp', 'ws'];
const eventCode = (e: AnnounceEvent): number => Math.max(0, events.indexOf(e));
const noUserAgent = 0xffff;

/** Appends records to one growing buffer. */
export class Writer {
  buf = Buffer.allocUnsafe(64 * 1024);
  at = 0;

  reserve(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  u8(v: number): void {
    this.buf[this.at++] = v;
  }

  u16(v: number): void {
    this.buf.writeUInt16LE(v, this.at);
    this.at += 2;
  }

  f64(v: number): void {
    this.buf.writeDoubleLE(v, this.at);
    this.at += 8;
  }

  hex20(hex: string): void {
    this.buf.write(hex, this.at, 20, 'hex');
    this.at += 20;
  }

  bytes8(b: Uint8Array): void {
    this.u8(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }

  bytes32(b: Uint8Array): void {
    this.buf.writeUInt32LE(b.length, this.at);
    this.buf.set(b, this.at + 4);
    this.at += 4 + b.length;
  }

  /** The bytes as they are, room reserved: the enclosing frame's length says where they end. */
  raw(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }

  text8(s: string): void {
    const n = this.buf.write(s, this.at + 1, 255, 'latin1');
    this.buf[this.at] = n;
    this.at += 1 + n;
  }

  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.at));
    this.at = 0;
    return out;
  }
}

export class Reader {
  at = 0;
  constructor(readonly buf: Buffer) {}

  get done(): boolean {
    return this.at >= this.buf.length;
  }

  u8(): number {
    return this.buf[this.at++]!;
  }

  u16(): number {
    const v = this.buf.readUInt16LE(this.at);
    this.at += 2;
    return v;
  }

  f64(): number {
    const v = this.buf.readDoubleLE(this.at);
    this.at += 8;
    return v;
  }

  hex20(): string {
    const s = this.buf.toString('hex', this.at, this.at + 20);
    this.at += 20;
    return s;
  }

  bytes8(): Uint8Array {
    const n = this.u8();
    const b = new Uint8Array(this.buf.subarray(this.at, this.at + n));
    this.at += n;
    return b;
  }

  bytes32(): Uint8Array {
    const n = this.buf.readUInt32LE(this.at);
    const b = new Uint8Array(this.buf.subarray(this.at + 4, this.at + 4 + n));
    this.at += 4 + n;
    return b;
  }

  text8(): string {
    const n = this.u8();
    const s = this.buf.toString('latin1', this.at, this.at + n);
    this.at += n;
    return s;
  }
}

/**
 * One announce for the worker that owns its swarm's partition (partitioned-store.ts). The
 * record is the whole StoreAnnounce, numwant and `packed` included: the owner picks the peers.
 */
export function writeStoreAnnounce(w: Writer, a: StoreAnnounce): boolean {
  if (a.peerKey.length > 255 || a.peer.compact.length > 255 || a.peer.peerId.length > 255) return false;
  w.reserve(1 + 20 + 3 + 255 * 3 + 32 + 2);
  w.u8((a.peer.kind === 'ws' ? 1 : 0) | (a.seeder ? 2 : 0) | (eventCode(a.event) << 2) | (a.packed ? 16 : 0));
  w.hex20(a.infoHash);
  w.text8(a.peerKey);
  w.bytes8(a.peer.compact);
  w.bytes8(a.peer.peerId);
  w.f64(a.uploaded);
  w.f64(a.downloaded);
  w.f64(a.now);
  w.f64(a.ttlMs);
  w.u16(Math.min(0xffff, Math.max(0, a.numwant)));
  return true;
}

export function readStoreAnnounce(r: Reader): StoreAnnounce {
  const flags = r.u8();
  const infoHash = r.hex20() as InfoHash;
  const peerKey = r.text8();
  const compact = r.bytes8();
  const peerId = r.bytes8();
  return {
    infoHash,
    peerKey,
    peer: { kind: flags & 1 ? 'ws' : 'tcp', compact, peerId },
    seeder: (flags & 2) !== 0,
    event: events[(flags >> 2) & 3]!,
    packed: (flags & 16) !== 0,
    uploaded: r.f64(),
    downloaded: r.f64(),
    now: r.f64(),
    ttlMs: r.f64(),
    numwant: r.u16(),
  };
}

/**
 * The owner's answer: u8 0 and the error code, or u8 1, three f64 counts, u8 flags
 * (previous, packed), the previous counters, the packed v4 and v6 bytes (u32 lengths) and
 * u16 peer records (u8 kind, compact, peer id).
 */
export function writeStoreResult(w: Writer, res: StoreAnnounceResult | TrackerError): void {
  if ('error' in res) {
    w.reserve(1 + 256);
    w.u8(0);
    w.text8(res.error);
    return;
  }
  const packed = res.packed;
  let size = 1 + 24 + 1 + 16 + 8 + 2;
  if (packed) size += packed.v4.length + packed.v6.length;
  for (const p of res.peers) size += 3 + p.compact.length + p.peerId.length;
  w.reserve(size);
  w.u8(1);
  w.f64(res.complete);
  w.f64(res.incomplete);
  w.f64(res.downloaded);
  w.u8((res.previous ? 1 : 0) | (packed ? 2 : 0));
  if (res.previous) {
    w.f64(res.previous.uploaded);
    w.f64(res.previous.downloaded);
  }
  if (packed) {
    w.bytes32(packed.v4);
    w.bytes32(packed.v6);
  }
  w.u16(res.peers.length);
  for (const p of res.peers) {
    w.u8(p.kind === 'ws' ? 1 : 0);
    w.bytes8(p.compact);
    w.bytes8(p.peerId);
  }
}

export function readStoreResult(r: Reader): StoreAnnounceResult | TrackerError {
  if (r.u8() === 0) return trackerError(r.text8() as TrackerErrorCode);
  const complete = r.f64();
  const incomplete = r.f64();
  const downloaded = r.f64();
  const flags = r.u8();
  const previous = flags & 1 ? { uploaded: r.f64(), downloaded: r.f64() } : null;
  const packed = flags & 2 ? { v4: r.bytes32(), v6: r.bytes32() } : undefined;
  const count = r.u16();
  const peers: PeerRecord[] = [];
  for (let i = 0; i < count; i++) {
    const kind = r.u8() === 1 ? 'ws' : 'tcp';
    peers.push({ kind, compact: r.bytes8(), peerId: r.bytes8() });
  }
  return { complete, incomplete, downloaded, previous, packed, peers };
}

export class FactBatchWriter {
  private readonly w = new Writer();

  get empty(): boolean {
    return this.w.at === 0;
  }

  add(o: AnnounceObservation): void {
    const r = o.request;
    const ua = r.userAgent;
    const uaBytes = ua === null ? 0 : Buffer.byteLength(ua);
    if (r.ip.length > 255 || uaBytes >= noUserAgent || r.peerId.length > 255) return;
    const w = this.w;
    w.reserve(1 + 20 + 256 + 2 + uaBytes + 256 + 32);
    w.u8(transports.indexOf(r.transport) | (eventCode(r.event) << 2));
    w.hex20(r.infoHash);
    w.text8(r.ip);
    w.buf.writeUInt16LE(ua === null ? noUserAgent : uaBytes, w.at);
    w.at += 2;
    if (ua !== null) w.at += w.buf.write(ua, w.at, uaBytes, 'utf8');
    w.bytes8(r.peerId);
    w.f64(o.time);
    w.f64(r.left);
    w.f64(o.uploadedDelta);
    w.f64(o.downloadedDelta);
  }

  take(): Buffer {
    return this.w.take();
  }
}

/**
 * Decodes a fact batch. The requests carry what the fact publisher reads (address, user
 * agent, info-hash, event, left, peer id, transport); the rest is neutral.
 */
export function readFactBatch(buf: Buffer): AnnounceObservation[] {
  const r = new Reader(buf);
  const out: AnnounceObservation[] = [];
  while (!r.done) {
    const flags = r.u8();
    const infoHash = r.hex20() as InfoHash;
    const ip = r.text8();
    const uaLength = buf.readUInt16LE(r.at);
    r.at += 2;
    let userAgent: string | null = null;
    if (uaLength !== noUserAgent) {
      userAgent = buf.toString('utf8', r.at, r.at + uaLength);
      r.at += uaLength;
    }
    const peerId = r.bytes8();
    const time = r.f64();
    const request: AnnounceRequest = {
      type: 'announce',
      transport: transports[flags & 3] ?? 'http',
      infoHash,
      peerId,
      ip,
      port: 0,
      uploaded: 0,
      downloaded: 0,
      left: r.f64(),
      event: events[(flags >> 2) & 3]!,
      numwant: 0,
      compact: true,
      noPeerId: false,
      passkey: null,
      key: null,
      userAgent,
    };
    out.push({ time, request, uploadedDelta: r.f64(), downloadedDelta: r.f64() });
  }
  return out;
}

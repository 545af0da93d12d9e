import { pieceSize, requestablePieceSize, type StorageLayout } from '../storage/layout.ts';
import type { Storage } from '../storage/storage.ts';
import { MAX_REQUEST_LENGTH } from '../wire/messages.ts';
import type { SwarmPeer } from './swarm-peer.ts';

export interface UploaderOptions {
  /** True when we hold verified piece `index`. */
  readonly have: (index: number) => boolean;
  readonly now: () => number;
  /** Called with the bytes of each block sent. */
  readonly onSent?: (bytes: number) => void;
  readonly onViolation: (peer: SwarmPeer, code: string, message: string) => void;
  readonly onError: (err: unknown) => void;
  /** Requests a peer may queue; more is a flood (default 2000, libtorrent's max_allowed_in_request_queue). */
  readonly maxQueued?: number;
  /**
   * Most bytes kept in one peer's send buffer (default 1 MiB). The target is half a second of
   * the peer's upload rate within [{@link MIN_SEND_BUFFER}, this], as libtorrent's
   * send_buffer_watermark: a deep buffer commits upload slots to whoever was unchoked last and
   * starves the rechoke, a shallow one cannot fill a fast link.
   */
  readonly sendBuffer?: number;
  /** Upload cap over all peers, bytes/s (default none). */
  readonly rateLimit?: number;
  /**
   * Runs `fn` after `ms` on the session's timers. Needed with `rateLimit`, and to re-pump a
   * peer whose buffer is above our target but below the transport's own high-water mark (the
   * transport emits `drain` only after it refused a write).
   */
  readonly later?: (fn: () => void, ms: number) => void;
}

/**
 * The serving side: answers requests from unchoked peers out of storage. Whole pieces are read
 * once and kept in a small cache, so serving 16 KiB blocks is large sequential reads; a peer's
 * queue is drained only while its send buffer is low (transport backpressure).
 */
export class Uploader {
  private readonly cache = new Map<number, CachedPiece>();
  private readonly cacheSize = 8;
  /**
   * Piece buffers free for the next read. A fresh 1 MiB buffer per piece read made V8 run a
   * mark-compact every ~12 MB uploaded (external memory; `--trace-gc`: 21 for 256 MiB, 20-30 ms
   * each, about half of the seeder's CPU). A buffer comes back here only when it has left the
   * cache and every block sent from it has left the transport (`Transport.write`'s `onWritten`);
   * a transport that cannot tell keeps it, and the collector takes it.
   */
  private readonly spare: Uint8Array[] = [];
  /** Token bucket of the upload cap: bytes we may send now. */
  private tokens = 0;
  private refilledAt = Number.NaN;
  private rateLimit: number | undefined;

  constructor(
    private readonly layout: StorageLayout,
    private readonly storage: () => Storage | undefined,
    private readonly options: UploaderOptions,
  ) {
    this.rateLimit = options.rateLimit || undefined;
  }

  /** Changes the upload cap while running (bytes/s; undefined = none; 0 = serve nothing). */
  setRateLimit(bytesPerSecond: number | undefined): void {
    this.rateLimit = bytesPerSecond === undefined ? undefined : Math.max(0, bytesPerSecond);
    this.refilledAt = Number.NaN;
    this.tokens = 0;
  }

  /** A request arrived; returns after queueing (serving is asynchronous). */
  request(peer: SwarmPeer, index: number, begin: number, length: number): void {
    // The connection already refused what lies outside the piece; a request we cannot serve
    // is declined (BEP 6), never a reason to drop a peer that may be right about the layout.
    const size = requestablePieceSize(this.layout, index);
    if (size === 0 || length <= 0 || length > MAX_REQUEST_LENGTH || begin < 0 || begin + length > size) {
      peer.link.reject(index, begin, length);
      return;
    }
    if (peer.link.amChoking || !this.options.have(index) || this.rateLimit === 0) {
      peer.link.reject(index, begin, length);
      return;
    }
    if (peer.uploads.length >= (this.options.maxQueued ?? 2000)) {
      this.options.onViolation(
        peer,
        'BT_PEER_FLOOD',
        `more than ${this.options.maxQueued ?? 2000} requests queued`,
      );
      return;
    }
    peer.uploads.push({ index, begin, length });
    this.pump(peer);
  }

  cancel(peer: SwarmPeer, index: number, begin: number, length: number): void {
    const s = peer.serving;
    if (s && s.index === index && s.begin === begin && s.length === length) peer.serving = undefined;
    peer.uploads = peer.uploads.filter((r) => r.index !== index || r.begin !== begin || r.length !== length);
  }

  /** We choked the peer: its queue is dropped (fast peers get explicit rejects). */
  choked(peer: SwarmPeer): void {
    for (const r of peer.uploads) peer.link.reject(r.index, r.begin, r.length);
    peer.uploads = [];
  }

  /** Sends queued blocks while the peer's send buffer has room. */
  pump(peer: SwarmPeer): void {
    if (pumping.has(peer)) return;
    pumping.add(peer);
    void this.drain(peer)
      .catch(this.options.onError)
      .finally(() => pumping.delete(peer));
  }

  /** A piece we hold changed (verified): nothing cached can be stale, but keep the cache small. */
  forget(index: number): void {
    const entry = this.cache.get(index);
    if (entry) this.evict(index, entry);
  }

  private async drain(peer: SwarmPeer): Promise<void> {
    if (this.rateLimit === 0) {
      // Uploads switched off: what was queued is declined (fast peers re-ask elsewhere).
      for (const r of peer.uploads) peer.link.reject(r.index, r.begin, r.length);
      peer.uploads = [];
      return;
    }
    let accepted = true;
    while (peer.uploads.length > 0 && !peer.link.amChoking) {
      if (peer.link.bufferedAmount >= this.target(peer)) {
        // A refused write means the transport will emit `drain`; otherwise nothing would wake
        // us, so look again once the excess should have left.
        if (accepted) this.repumpLater(peer);
        return;
      }
      const r = peer.uploads[0]!;
      const wait = this.throttle(r.length);
      if (wait > 0) {
        this.options.later?.(() => this.pump(peer), wait);
        return;
      }
      peer.uploads.shift();
      peer.serving = r;
      const entry = this.piece(r.index);
      if (!entry) return;
      // held until the block has left the transport (or was not sent): see `spare`
      entry.holds++;
      let handedOver = false;
      try {
        const piece = await entry.data;
        const cancelled = peer.serving !== r;
        peer.serving = undefined;
        // The peer may have cancelled or been choked while we read.
        if (peer.link.amChoking) return;
        if (cancelled) continue;
        handedOver = true;
        accepted = peer.link.sendBlock(r.index, r.begin, blockOf(piece, r.begin, r.length), () =>
          this.release(entry),
        );
      } finally {
        if (!handedOver) this.release(entry);
      }
      this.options.onSent?.(r.length);
    }
  }

  /** Bytes to keep queued for `peer`: half a second of its upload rate, bounded. */
  private target(peer: SwarmPeer): number {
    const max = this.options.sendBuffer ?? 1024 * 1024;
    return Math.min(max, Math.max(MIN_SEND_BUFFER, peer.link.uploadRate() / 2));
  }

  private repumpLater(peer: SwarmPeer): void {
    const later = this.options.later;
    if (!later || repumping.has(peer)) return;
    repumping.add(peer);
    const excess = peer.link.bufferedAmount - this.target(peer) / 2;
    const rate = Math.max(peer.link.uploadRate(), 64 * 1024);
    const ms = Math.min(250, Math.max(2, Math.ceil((excess * 1000) / rate)));
    later(() => {
      repumping.delete(peer);
      this.pump(peer);
    }, ms);
  }

  /** Takes `bytes` from the bucket; returns ms to wait when it holds too few (0 = go). */
  private throttle(bytes: number): number {
    const limit = this.rateLimit;
    if (limit === undefined) return 0;
    const now = this.options.now();
    if (Number.isNaN(this.refilledAt)) this.refilledAt = now;
    // At most a quarter second of burst.
    this.tokens = Math.min(limit / 4 + bytes, this.tokens + ((now - this.refilledAt) * limit) / 1000);
    this.refilledAt = now;
    if (this.tokens < bytes) return Math.max(5, Math.ceil(((bytes - this.tokens) * 1000) / limit));
    this.tokens -= bytes;
    return 0;
  }

  private piece(index: number): CachedPiece | undefined {
    const storage = this.storage();
    if (!storage) return undefined;
    let entry = this.cache.get(index);
    if (entry) {
      this.cache.delete(index);
      this.cache.set(index, entry);
      return entry;
    }
    const offset = index * this.layout.pieceLength;
    const size = pieceSize(this.layout, index);
    const buffer =
      storage.readInto && size === this.layout.pieceLength
        ? (this.spare.pop() ?? new Uint8Array(size))
        : undefined;
    const data = buffer ? storage.readInto!(offset, buffer).then(() => buffer) : storage.read(offset, size);
    entry = { data, buffer, holds: 0, evicted: false };
    this.cache.set(index, entry);
    const made = entry;
    data.catch(() => {
      // a failed read is not cached, and its buffer is not trusted again
      made.buffer = undefined;
      if (this.cache.get(index) === made) this.evict(index, made);
    });
    while (this.cache.size > this.cacheSize) {
      const [oldest, old] = this.cache.entries().next().value!;
      this.evict(oldest, old);
    }
    return entry;
  }

  private evict(index: number, entry: CachedPiece): void {
    this.cache.delete(index);
    entry.evicted = true;
    if (entry.holds === 0) this.recycle(entry);
  }

  private release(entry: CachedPiece): void {
    entry.holds--;
    if (entry.holds === 0 && entry.evicted) this.recycle(entry);
  }

  private recycle(entry: CachedPiece): void {
    const buffer = entry.buffer;
    entry.buffer = undefined;
    if (buffer && this.spare.length < this.cacheSize) this.spare.push(buffer);
  }
}

/** A piece read for serving; `buffer` is ours to reuse once evicted and no longer held. */
interface CachedPiece {
  readonly data: Promise<Uint8Array>;
  buffer: Uint8Array | undefined;
  /** Drain loops reading it plus blocks sent from it that the transport still holds. */
  holds: number;
  evicted: boolean;
}

/** A block of a piece's data; past the data's end (a v2 file's padded tail) it reads zeros. */
function blockOf(piece: Uint8Array, begin: number, length: number): Uint8Array {
  if (begin + length <= piece.length) return piece.subarray(begin, begin + length);
  const block = new Uint8Array(length);
  if (begin < piece.length) block.set(piece.subarray(begin));
  return block;
}

/** Peers with a drain loop running (one loop per peer at a time). */
const pumping = new WeakSet<SwarmPeer>();
/** Peers with a re-pump timer pending (one at a time). */
const repumping = new WeakSet<SwarmPeer>();

/** The smallest per-peer send buffer target: a few blocks, enough to keep a slow link busy. */
export const MIN_SEND_BUFFER = 64 * 1024;

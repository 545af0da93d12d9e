import type { Transport } from '../transport.ts';
import { encodeBlockMessage, encodedLength, encodeInto, encodePieceHeader } from './encode.ts';
import { MessageId, type WireMessage } from './messages.ts';

/** Messages up to this size are batched into the slab; larger ones get their own buffer. */
const SMALL_MESSAGE = 1024;

/**
 * Batches small messages (have, request, cancel, piece headers...) into a slab and hands the
 * transport one chunk per `flush`, so the hot path allocates neither a buffer per message nor
 * a closure. A flushed region of the slab belongs to the transport (see Transport ownership),
 * so the writer never rewrites it: once the slab is used up it moves on to a fresh one.
 * Piece blocks are written as their own chunk, never copied.
 */
export class MessageWriter {
  private slab: Uint8Array;
  private pos = 0;
  private flushed = 0;
  private ok = true;

  constructor(
    private readonly transport: Transport,
    private readonly slabSize = 64 * 1024,
  ) {
    this.slab = new Uint8Array(0);
  }

  /** Bytes written since the last flush. */
  get pending(): number {
    return this.pos - this.flushed;
  }

  private reserve(n: number): void {
    if (this.slab.length - this.pos >= n) return;
    this.send();
    this.slab = new Uint8Array(Math.max(this.slabSize, n));
    this.pos = 0;
    this.flushed = 0;
  }

  /** Queues a message; small ones wait in the slab until `flush`. */
  write(msg: WireMessage): void {
    const n = encodedLength(msg);
    if (n > SMALL_MESSAGE) {
      this.send();
      const out = new Uint8Array(n);
      encodeInto(msg, out, 0);
      this.ok = this.transport.write(out) && this.ok;
      return;
    }
    this.reserve(n);
    this.pos += encodeInto(msg, this.slab, this.pos);
  }

  /** Queues a request, as `write({ type: 'request', ... })` would (see `encodeBlockMessage`). */
  writeRequest(index: number, begin: number, length: number): void {
    this.reserve(17);
    this.pos += encodeBlockMessage(MessageId.request, index, begin, length, this.slab, this.pos);
  }

  /**
   * Queues a piece message: its header through the slab, then the block as its own chunk.
   * `onWritten`: see {@link Transport.write}.
   */
  writePiece(index: number, begin: number, block: Uint8Array, onWritten?: () => void): void {
    this.reserve(13);
    this.pos += encodePieceHeader(index, begin, block.length, this.slab, this.pos);
    this.send();
    this.ok = this.transport.write(block, onWritten) && this.ok;
  }

  /** Queues raw bytes (a handshake) in order with the messages. */
  writeRaw(bytes: Uint8Array): void {
    this.send();
    this.ok = this.transport.write(bytes) && this.ok;
  }

  private send(): void {
    if (this.pos > this.flushed && !this.transport.closed) {
      this.ok = this.transport.write(this.slab.subarray(this.flushed, this.pos)) && this.ok;
    }
    this.flushed = this.pos;
  }

  /**
   * Hands everything batched to the transport. Returns false when the transport asked for
   * backpressure at any write since the previous flush.
   */
  flush(): boolean {
    this.send();
    const ok = this.ok;
    this.ok = true;
    return ok;
  }
}

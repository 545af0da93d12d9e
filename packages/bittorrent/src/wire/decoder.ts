import { decodeHandshake } from './handshake.ts';
import {
  CHOKE,
  DEFAULT_MAX_FRAME_LENGTH,
  HANDSHAKE_LENGTH,
  HAVE_ALL,
  HAVE_NONE,
  type Handshake,
  INTERESTED,
  KEEP_ALIVE,
  MAX_REQUEST_LENGTH,
  MessageId,
  NOT_INTERESTED,
  UNCHOKE,
  type WireMessage,
} from './messages.ts';
import { type WireDecodeError, WireErrorCode, wireError } from './wire-errors.ts';

/** Options of a {@link WireDecoder}. */
export interface WireDecoderOptions {
  /** Expect a 68-byte handshake before the first frame (default true). */
  readonly handshake?: boolean;
  /** Largest length prefix accepted; above it the stream fails (default ~1 MiB). */
  readonly maxFrameLength?: number;
  /** Piece count of the torrent, when known: enables index and bitfield checks. */
  readonly pieceCount?: number;
  /**
   * Pushed chunks stay valid only until {@link WireDecoder.retain} (the transport reads into
   * one reused buffer). Then a piece message's block is a view valid until the next `next`,
   * `push` or `retain`; every other message owns its bytes; and the caller calls `retain`
   * after draining each chunk, which copies the undecoded rest. Default false.
   */
  readonly transient?: boolean;
}

/** What {@link WireDecoder.next} yields. */
export type WireDecoded = Handshake | WireMessage | WireDecodeError;

function u32(b: Uint8Array, i: number): number {
  return (
    (((b[i] as number) << 24) |
      ((b[i + 1] as number) << 16) |
      ((b[i + 2] as number) << 8) |
      (b[i + 3] as number)) >>>
    0
  );
}

function badLength(id: number, len: number, want: string): WireDecodeError {
  return wireError(
    WireErrorCode.badLength,
    `message ${id} with ${len} payload bytes (want ${want})`,
    false,
    id,
  );
}

/**
 * An incremental decoder: feed chunks at any boundaries with `push`, then drain typed
 * messages with `next` until it returns `undefined`. It never throws on input. A frame that
 * arrives inside one chunk is returned as views into that chunk (no copy); only a frame split
 * across chunks is assembled into a fresh buffer. After a fatal error it yields nothing more.
 */
export class WireDecoder {
  private chunks: Uint8Array[] = [];
  private head = 0;
  private buffered = 0;
  private expectHandshake: boolean;
  private failed = false;
  private readonly maxFrameLength: number;
  private readonly transient: boolean;
  /** Transient mode: where a frame split across chunks is assembled (reused). */
  private scratch = new Uint8Array(0);
  /** Transient mode: the buffer holding retained bytes, and the other one to retain into next. */
  private kept = new Uint8Array(0);
  private spare = new Uint8Array(0);
  /** Piece count used for index and bitfield checks; set it once metadata is known. */
  pieceCount: number | undefined;

  constructor(options: WireDecoderOptions = {}) {
    this.expectHandshake = options.handshake ?? true;
    this.maxFrameLength = options.maxFrameLength ?? DEFAULT_MAX_FRAME_LENGTH;
    this.pieceCount = options.pieceCount;
    this.transient = options.transient ?? false;
  }

  /** Bytes received but not yet decoded. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** True after a fatal error. */
  get hasFailed(): boolean {
    return this.failed;
  }

  /**
   * Adds received bytes. The decoder keeps views into `chunk`: the caller must not reuse it
   * (in transient mode: not before `retain`).
   */
  push(chunk: Uint8Array): void {
    if (this.failed || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /**
   * Transient mode: copies the bytes not decoded yet out of the pushed chunks (into buffers the
   * decoder reuses), so the caller may reuse its read buffer. Cheap: at most about one frame.
   */
  retain(): void {
    if (!this.transient || this.failed) return;
    const n = this.buffered;
    const first = this.chunks[0];
    if (n === 0 || (this.chunks.length === 1 && first?.buffer === this.kept.buffer)) return;
    let target = this.spare;
    if (target.length < n) target = new Uint8Array(Math.max(n, 2 * target.length, 32 * 1024));
    let filled = 0;
    let head = this.head;
    for (const c of this.chunks) {
      target.set(c.subarray(head), filled);
      filled += c.length - head;
      head = 0;
    }
    this.spare = this.kept;
    this.kept = target;
    this.chunks = [target.subarray(0, n)];
    this.head = 0;
  }

  /** The next complete message, a decode error, or `undefined` when more bytes are needed. */
  next(): WireDecoded | undefined {
    if (this.failed) return undefined;
    if (this.expectHandshake) {
      // Fail on a wrong first byte at once instead of waiting for 68 bytes of garbage.
      if (this.buffered > 0 && this.peek(0) !== 19)
        return this.fail(WireErrorCode.badHandshake, 'not a BitTorrent handshake');
      if (this.buffered < HANDSHAKE_LENGTH) return undefined;
      const hs = decodeHandshake(this.take(HANDSHAKE_LENGTH));
      if (hs === undefined) return this.fail(WireErrorCode.badHandshake, 'not a BitTorrent handshake');
      this.expectHandshake = false;
      return hs;
    }
    if (this.buffered < 4) return undefined;
    const length = this.peekU32();
    if (length > this.maxFrameLength) {
      return this.fail(
        WireErrorCode.frameTooLarge,
        `frame of ${length} bytes exceeds ${this.maxFrameLength}`,
      );
    }
    if (this.buffered < 4 + length) return undefined;
    this.skip(4);
    if (length === 0) return KEEP_ALIVE;
    return this.parse(this.take(length));
  }

  private fail(code: WireErrorCode, message: string): WireDecodeError {
    this.failed = true;
    this.chunks = [];
    this.buffered = 0;
    this.head = 0;
    return wireError(code, message, true);
  }

  private peek(offset: number): number {
    let at = this.head + offset;
    for (const c of this.chunks) {
      if (at < c.length) return c[at] as number;
      at -= c.length;
    }
    return -1;
  }

  private peekU32(): number {
    const first = this.chunks[0] as Uint8Array;
    if (first.length - this.head >= 4) return u32(first, this.head);
    return ((this.peek(0) << 24) | (this.peek(1) << 16) | (this.peek(2) << 8) | this.peek(3)) >>> 0;
  }

  private skip(n: number): void {
    this.buffered -= n;
    while (n > 0) {
      const first = this.chunks[0] as Uint8Array;
      const avail = first.length - this.head;
      if (n < avail) {
        this.head += n;
        return;
      }
      n -= avail;
      this.chunks.shift();
      this.head = 0;
    }
  }

  /** Removes and returns the next n buffered bytes (n <= buffered): a view when possible. */
  private take(n: number): Uint8Array {
    const first = this.chunks[0] as Uint8Array;
    const avail = first.length - this.head;
    if (n <= avail) {
      const view = first.subarray(this.head, this.head + n);
      this.buffered -= n;
      if (n === avail) {
        this.chunks.shift();
        this.head = 0;
      } else {
        this.head += n;
      }
      return view;
    }
    let out: Uint8Array;
    if (this.transient) {
      if (this.scratch.length < n) this.scratch = new Uint8Array(Math.max(n, 32 * 1024));
      out = this.scratch.subarray(0, n);
    } else {
      out = new Uint8Array(n);
    }
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0] as Uint8Array;
      const part = Math.min(c.length - this.head, n - filled);
      out.set(c.subarray(this.head, this.head + part), filled);
      filled += part;
      if (this.head + part === c.length) {
        this.chunks.shift();
        this.head = 0;
      } else {
        this.head += part;
      }
    }
    this.buffered -= n;
    return out;
  }

  /** A payload the message may keep: a copy in transient mode, else the view itself. */
  private own(view: Uint8Array): Uint8Array {
    return this.transient ? view.slice() : view;
  }

  private checkIndex(index: number, id: number): WireDecodeError | undefined {
    if (this.pieceCount !== undefined && index >= this.pieceCount) {
      return wireError(WireErrorCode.indexOutOfRange, `piece ${index} of ${this.pieceCount}`, false, id);
    }
    return undefined;
  }

  /** Parses one frame body (id + payload); the frame is consumed whatever the outcome. */
  private parse(body: Uint8Array): WireMessage | WireDecodeError {
    const id = body[0] as number;
    const len = body.length - 1;
    switch (id) {
      case MessageId.choke:
      case MessageId.unchoke:
      case MessageId.interested:
      case MessageId.notInterested:
      case MessageId.haveAll:
      case MessageId.haveNone:
        if (len !== 0) return badLength(id, len, '0');
        return id === MessageId.choke
          ? CHOKE
          : id === MessageId.unchoke
            ? UNCHOKE
            : id === MessageId.interested
              ? INTERESTED
              : id === MessageId.notInterested
                ? NOT_INTERESTED
                : id === MessageId.haveAll
                  ? HAVE_ALL
                  : HAVE_NONE;
      case MessageId.have:
      case MessageId.suggest:
      case MessageId.allowedFast: {
        if (len !== 4) return badLength(id, len, '4');
        const index = u32(body, 1);
        const err = this.checkIndex(index, id);
        if (err) return err;
        const type = id === MessageId.have ? 'have' : id === MessageId.suggest ? 'suggest' : 'allowed-fast';
        return { type, index };
      }
      case MessageId.bitfield: {
        const bits = body.subarray(1);
        if (this.pieceCount !== undefined) {
          const want = Math.ceil(this.pieceCount / 8);
          if (bits.length !== want) {
            return wireError(
              WireErrorCode.badBitfield,
              `bitfield of ${bits.length} bytes, want ${want}`,
              false,
              id,
            );
          }
          const spare = want * 8 - this.pieceCount;
          if (spare > 0 && ((bits[want - 1] as number) & ((1 << spare) - 1)) !== 0) {
            return wireError(WireErrorCode.badBitfield, 'bitfield has spare bits set', false, id);
          }
        }
        return { type: 'bitfield', bits: this.own(bits) };
      }
      case MessageId.request:
      case MessageId.cancel:
      case MessageId.reject: {
        if (len !== 12) return badLength(id, len, '12');
        const index = u32(body, 1);
        const begin = u32(body, 5);
        const length = u32(body, 9);
        const err = this.checkIndex(index, id);
        if (err) return err;
        if (id === MessageId.request && (length === 0 || length > MAX_REQUEST_LENGTH)) {
          return wireError(WireErrorCode.badRequestLength, `request for ${length} bytes`, false, id);
        }
        const type = id === MessageId.request ? 'request' : id === MessageId.cancel ? 'cancel' : 'reject';
        return { type, index, begin, length };
      }
      case MessageId.piece: {
        if (len < 8) return badLength(id, len, '>= 8');
        const index = u32(body, 1);
        const err = this.checkIndex(index, id);
        if (err) return err;
        return { type: 'piece', index, begin: u32(body, 5), block: body.subarray(9) };
      }
      case MessageId.port:
        if (len !== 2) return badLength(id, len, '2');
        return { type: 'port', port: ((body[1] as number) << 8) | (body[2] as number) };
      case MessageId.extended:
        if (len < 1) return badLength(id, len, '>= 1');
        return { type: 'extended', extId: body[1] as number, payload: this.own(body.subarray(2)) };
      case MessageId.hashRequest:
        return { type: 'hash-request', payload: this.own(body.subarray(1)) };
      case MessageId.hashes:
        return { type: 'hashes', payload: this.own(body.subarray(1)) };
      case MessageId.hashReject:
        return { type: 'hash-reject', payload: this.own(body.subarray(1)) };
      default:
        return wireError(WireErrorCode.unknownMessage, `unknown message id ${id}`, false, id);
    }
  }
}

/**
 * The one interface every byte transport implements (TCP, WebRTC data channels, in-memory
 * pairs in tests and the simulator). A transport is a duplex of Uint8Array chunks: no Node
 * streams, no event emitter, so the same peer logic runs in a browser and in Node.
 *
 * Ownership rules (they are what lets the codec avoid copies):
 * - A chunk passed to {@link Transport.write} belongs to the transport from then on; the
 *   caller must not modify it afterwards (a Node socket may still hold it).
 * - A chunk delivered to {@link TransportHandler.data} belongs to the receiver; the
 *   transport never reuses it, so the receiver may keep views (`subarray`) into it.
 */
export interface Transport {
  /** Where the other end is; `undefined` fields when the transport cannot tell. */
  readonly remote: RemoteInfo;
  /** True once closed from either side; writes after that are dropped. */
  readonly closed: boolean;
  /**
   * Attaches the receiver and starts delivering events. Nothing is delivered before this
   * call (the transport buffers or pauses its source), and it is called at most once.
   */
  start(handler: TransportHandler): void;
  /**
   * Queues a chunk for sending. Returns false when the transport's send buffer is above its
   * high-water mark: the caller should stop producing bulk data until `drain`.
   * The chunk is still queued when false is returned.
   *
   * `onWritten`, when given, is called once the transport no longer holds `chunk` (handed to
   * the kernel, or dropped), so the caller may reuse its memory. A transport that cannot tell
   * never calls it, and the chunk is left to the garbage collector.
   */
  write(chunk: Uint8Array, onWritten?: () => void): boolean;
  /**
   * True when this transport breaks the second ownership rule above for speed: it reads into
   * one reused buffer, so a chunk given to `data` is valid only during that call and the
   * receiver copies what it keeps (the peer wire decoder does). Absent or false: the rule holds.
   */
  readonly transientChunks?: boolean;
  /** Bytes queued but not yet handed to the network (for pacing uploads). */
  readonly bufferedAmount: number;
  /** Stops delivering `data` events until {@link Transport.resume} (read backpressure). */
  pause(): void;
  resume(): void;
  /**
   * Closes both directions and frees resources. Idempotent. `handler.close` is called once,
   * with `reason` when the close was ours and carried one.
   */
  close(reason?: CodedError): void;
}

/** Callbacks a transport calls; one object per connection, no per-message closures. */
export interface TransportHandler {
  /** A chunk of bytes, at arbitrary boundaries. */
  data(chunk: Uint8Array): void;
  /** The send buffer fell below its low-water mark after `write` returned false. */
  drain(): void;
  /**
   * The transport closed (either side, or it failed). `reason` is set when the close was
   * caused by an error or by a local `close(reason)`; a clean remote close has none.
   */
  close(reason?: CodedError): void;
}

/** What a transport knows of the far end. */
export interface RemoteInfo {
  /** `tcp`, `utp`, `webrtc`, `memory`, `sim` ... */
  readonly kind: string;
  /** IP address (v4 dotted or v6 text) when known. */
  readonly address?: string;
  readonly port?: number;
  readonly family?: 'ipv4' | 'ipv6';
  /** True when we dialed, false when the remote dialed us. */
  readonly outgoing: boolean;
}

/**
 * An expected failure as a value: a stable code (listed in docs/errors.md) and a human
 * message. Used as close reasons and in events, never thrown across the event loop.
 */
export interface CodedError {
  readonly code: string;
  readonly message: string;
  readonly cause?: unknown;
}

/** Builds a {@link CodedError}. */
export function codedError(code: string, message: string, cause?: unknown): CodedError {
  return cause === undefined ? { code, message } : { code, message, cause };
}

/** A peer's network address as trackers, PEX and the DHT report it. */
export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** The outcome of a dial: a connected transport, or why not (timeout, refused...). */
export type DialResult = { ok: true; transport: Transport } | { ok: false; error: CodedError };

/**
 * Opens outgoing connections of one kind (TCP, WebRTC...). The session receives dialers from
 * its caller, so the simulator can hand it virtual ones.
 */
export interface Dialer {
  dial(address: PeerAddress, signal?: AbortSignal): Promise<DialResult>;
}

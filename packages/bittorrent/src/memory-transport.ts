import type { CodedError, RemoteInfo, Transport, TransportHandler } from './transport.ts';

/** Options of {@link memoryTransportPair}. */
export interface MemoryTransportOptions {
  /**
   * Runs deliveries later (default `queueMicrotask`). The simulator passes its own scheduler;
   * delivery is never synchronous inside `write`, so handlers are not re-entered.
   */
  readonly schedule?: (fn: () => void) => void;
  /** `write` returns false above this many undelivered bytes (default 1 MiB). */
  readonly highWaterMark?: number;
}

class MemoryTransport implements Transport {
  peer!: MemoryTransport;
  private handler: TransportHandler | undefined;
  private inbox: Uint8Array[] = [];
  private inboxBytes = 0;
  private scheduled = false;
  private paused = false;
  private needDrain = false;
  private closing: { reason: CodedError | undefined } | undefined;
  closed = false;
  private readonly deliverBound = () => this.deliver();

  constructor(
    readonly remote: RemoteInfo,
    private readonly schedule: (fn: () => void) => void,
    private readonly highWaterMark: number,
  ) {}

  /** Bytes this side wrote that the peer has not consumed yet. */
  get bufferedAmount(): number {
    return this.peer.inboxBytes;
  }

  start(handler: TransportHandler): void {
    if (this.handler) throw new Error('transport already started');
    this.handler = handler;
    this.kick();
  }

  write(chunk: Uint8Array): boolean {
    if (this.closed) return false;
    if (chunk.length > 0) this.peer.enqueue(chunk);
    const ok = this.peer.inboxBytes <= this.highWaterMark;
    if (!ok) this.needDrain = true;
    return ok;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.kick();
  }

  close(reason?: CodedError): void {
    if (this.closed) return;
    this.closed = true;
    this.closing = { reason };
    this.inbox = [];
    this.inboxBytes = 0;
    this.kick();
    this.peer.remoteClosed();
  }

  private remoteClosed(): void {
    if (this.closed) return;
    // Bytes already in flight are still delivered before the close, as TCP would.
    this.closed = true;
    this.closing = { reason: undefined };
    this.kick();
  }

  private enqueue(chunk: Uint8Array): void {
    if (this.closed) return;
    this.inbox.push(chunk);
    this.inboxBytes += chunk.length;
    this.kick();
  }

  private kick(): void {
    if (this.scheduled || !this.handler) return;
    this.scheduled = true;
    this.schedule(this.deliverBound);
  }

  private deliver(): void {
    this.scheduled = false;
    const handler = this.handler;
    if (!handler) return;
    while (this.inbox.length > 0 && !this.paused) {
      const chunk = this.inbox.shift() as Uint8Array;
      this.inboxBytes -= chunk.length;
      handler.data(chunk);
      this.peer.maybeDrain();
    }
    if (this.closing && (this.inbox.length === 0 || this.closing.reason !== undefined)) {
      const { reason } = this.closing;
      this.closing = undefined;
      this.handler = undefined;
      handler.close(reason);
    }
  }

  private maybeDrain(): void {
    if (this.needDrain && this.peer.inboxBytes <= this.highWaterMark / 2 && !this.closed) {
      this.needDrain = false;
      this.handler?.drain();
    }
  }
}

/**
 * Two connected in-memory transports (tests, the simulator's building block): what one
 * writes, the other receives, in order, delivered asynchronously through `schedule`.
 */
export function memoryTransportPair(options: MemoryTransportOptions = {}): [Transport, Transport] {
  const schedule = options.schedule ?? ((fn: () => void) => queueMicrotask(fn));
  const hwm = options.highWaterMark ?? 1024 * 1024;
  const a = new MemoryTransport(
    { kind: 'memory', address: '10.0.0.2', port: 6881, outgoing: true },
    schedule,
    hwm,
  );
  const b = new MemoryTransport(
    { kind: 'memory', address: '10.0.0.1', port: 50000, outgoing: false },
    schedule,
    hwm,
  );
  a.peer = b;
  b.peer = a;
  return [a, b];
}

import type { Duplex } from 'node:stream';
import {
  type CodedError,
  codedError,
  type RemoteInfo,
  type Transport,
  type TransportHandler,
} from '../transport.ts';

/** Send buffer above which `write` asks the caller to wait for `drain` (a few fast-link RTTs). */
export const HIGH_WATER = 1024 * 1024;

/**
 * What a TCP socket and a uTP connection share as a {@link Transport}: both are Node duplex
 * streams. Writes report backpressure past HIGH_WATER; the close is delivered once, after
 * any data already queued, with the first error seen as its reason (coded `ioCode`).
 */
export abstract class StreamTransport implements Transport {
  protected handler: TransportHandler | null = null;
  private closeReason: CodedError | undefined;
  private closedFlag = false;
  private notified = false;

  protected constructor(
    private readonly stream: Duplex,
    readonly remote: RemoteInfo,
    ioCode: string,
  ) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      const what = `${remote.kind} ${err.code ?? ''} ${err.message}`.trim();
      this.closeReason ??= codedError(ioCode, what, err);
    });
    stream.on('close', () => {
      this.closedFlag = true;
      this.notify();
    });
  }

  get closed(): boolean {
    return this.closedFlag || this.stream.destroyed;
  }

  get bufferedAmount(): number {
    return this.stream.writableLength;
  }

  abstract start(handler: TransportHandler): void;

  /** Takes the handler (once) and forwards `drain` to it. */
  protected attach(handler: TransportHandler): void {
    if (this.handler) throw new Error(`${this.constructor.name}.start called twice`);
    this.handler = handler;
    this.stream.on('drain', () => handler.drain());
  }

  write(chunk: Uint8Array, onWritten?: () => void): boolean {
    if (this.closed) return true;
    // A net.Socket calls back once libuv no longer holds the chunk (written, or the socket
    // destroyed). Other streams (uTP) are not known to keep that promise: never called there.
    if (onWritten && this.remote.kind === 'tcp') this.stream.write(chunk, () => onWritten());
    else this.stream.write(chunk);
    return this.stream.writableLength < HIGH_WATER;
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    if (this.handler) this.stream.resume();
  }

  close(reason?: CodedError): void {
    if (reason) this.closeReason ??= reason;
    this.closedFlag = true;
    this.stream.destroy();
    this.notify();
  }

  protected notify(): void {
    if (this.notified || !this.handler) return;
    this.notified = true;
    const h = this.handler;
    const reason = this.closeReason;
    // Deliver close after any data events already queued in this tick.
    queueMicrotask(() => h.close(reason));
  }
}

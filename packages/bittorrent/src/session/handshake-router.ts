import {
  type CodedError,
  codedError,
  type RemoteInfo,
  type Transport,
  type TransportHandler,
} from '../transport.ts';
import { PROTOCOL_HEADER } from '../wire/handshake.ts';

/** Bytes of a handshake up to and including the info-hash. */
const PREFIX = 48;

/**
 * Routes incoming connections on a shared port to the torrent they ask for: reads the first 48
 * bytes of the BEP 3 handshake (protocol string, reserved bits, info-hash), then hands the
 * session a transport that replays them. An unknown torrent or a wrong protocol closes the
 * connection; a peer that says nothing is closed after `timeoutMs`.
 */
export function routeIncoming(
  transport: Transport,
  lookup: (infoHash: Uint8Array) => ((t: Transport) => void) | undefined,
  schedule: { setTimeout(fn: () => void, ms: number): { cancel(): void } },
  timeoutMs = 10_000,
  policy: IncomingPolicy = {},
): void {
  const head = new Uint8Array(PREFIX);
  let got = 0;
  let routed = false;
  const timer = schedule.setTimeout(
    () => transport.close(codedError('BT_PEER_TIMEOUT', 'no handshake in time')),
    timeoutMs,
  );
  const replay = new ReplayTransport(transport);
  transport.start({
    data(chunk) {
      if (routed) {
        replay.deliver(chunk);
        return;
      }
      const take = Math.min(PREFIX - got, chunk.length);
      head.set(chunk.subarray(0, take), got);
      got += take;
      for (let i = 0; i < Math.min(got, 20); i++) {
        if (head[i] !== PROTOCOL_HEADER[i]) {
          timer.cancel();
          if (policy.encrypted) {
            // Not a plain handshake: an MSE/PE peer's Diffie-Hellman key. The acceptor reads
            // it (replayed) and routes the decrypted stream back here as a plain connection.
            routed = true;
            replay.deliver(head.slice(0, got));
            if (take < chunk.length) replay.deliver(chunk.subarray(take));
            policy.encrypted(replay);
            return;
          }
          transport.close(codedError('BT_WIRE_BAD_HANDSHAKE', 'not a BitTorrent handshake'));
          return;
        }
      }
      if (got >= 20 && policy.plaintext === false) {
        timer.cancel();
        transport.close(
          codedError('BT_MSE_REQUIRED', 'encryption is required here: plain handshake refused'),
        );
        return;
      }
      if (got < PREFIX) return;
      timer.cancel();
      const target = lookup(head.subarray(28, 48));
      if (!target) {
        transport.close(codedError('BT_PEER_WRONG_TORRENT', 'handshake for a torrent we do not have'));
        return;
      }
      routed = true;
      policy.routed?.();
      replay.deliver(head.slice());
      if (take < chunk.length) replay.deliver(chunk.subarray(take));
      target(replay);
    },
    drain: () => replay.handler?.drain(),
    close: (reason) => {
      timer.cancel();
      policy.closed?.();
      replay.closedBy(reason);
    },
  });
}

/** How incoming connections that do not start with a plain handshake are treated. */
export interface IncomingPolicy {
  /** Takes a connection whose first bytes are not a BitTorrent handshake (MSE); else closed. */
  readonly encrypted?: (t: Transport) => void;
  /** False refuses plain handshakes (encryption required). Default true. */
  readonly plaintext?: boolean;
  /** Called when the handshake named a torrent we have, just before it is handed over. */
  readonly routed?: () => void;
  /** Called once when the transport closes (routed or not). */
  readonly closed?: () => void;
}

/** A started transport presented as a fresh one, replaying what was read before routing. */
class ReplayTransport implements Transport {
  handler: TransportHandler | undefined;
  private backlog: Uint8Array[] = [];
  private closeReason: { reason: CodedError | undefined } | undefined;
  private paused = false;

  constructor(private readonly inner: Transport) {}

  get remote(): RemoteInfo {
    return this.inner.remote;
  }

  get closed(): boolean {
    return this.inner.closed;
  }

  get bufferedAmount(): number {
    return this.inner.bufferedAmount;
  }

  deliver(chunk: Uint8Array): void {
    if (this.handler && !this.paused && this.backlog.length === 0) this.handler.data(chunk);
    else this.backlog.push(chunk);
  }

  closedBy(reason: CodedError | undefined): void {
    if (this.handler && this.backlog.length === 0) this.handler.close(reason);
    else this.closeReason = { reason };
  }

  start(handler: TransportHandler): void {
    if (this.handler) throw new Error('transport already started');
    this.handler = handler;
    this.flush();
  }

  private flush(): void {
    while (this.handler && !this.paused && this.backlog.length > 0) this.handler.data(this.backlog.shift()!);
    if (this.handler && this.backlog.length === 0 && this.closeReason) {
      const r = this.closeReason.reason;
      this.closeReason = undefined;
      this.handler.close(r);
    }
  }

  write(chunk: Uint8Array, onWritten?: () => void): boolean {
    return this.inner.write(chunk, onWritten);
  }

  pause(): void {
    this.paused = true;
    this.inner.pause();
  }

  resume(): void {
    this.paused = false;
    this.inner.resume();
    this.flush();
  }

  close(reason?: CodedError): void {
    this.inner.close(reason);
  }
}

import { isIPv4 } from 'node:net';
import type { Duplex } from 'node:stream';
import type { UtpConnection, UtpSocket } from 'utp-native';
import { type CodedError, codedError, type Transport, type TransportHandler } from '../transport.ts';
import { StreamTransport } from './stream-transport.ts';

/**
 * uTP (BEP 29: reliable streams over UDP with LEDBAT congestion control, the transport
 * libtorrent and Transmission prefer and ISPs shape less) through `utp-native`, the Node
 * binding of libutp, the reference implementation of BEP 29, whose prebuilt binary ships in
 * its npm package. One UDP socket both accepts and dials, so the port peers learn for TCP is
 * also our uTP port (as libtorrent does), and an outgoing packet opens the NAT mapping an
 * incoming one needs (hole punching). libutp speaks IPv4 only here.
 */

/** How long `close` waits for libutp to finish closing connections before it returns. */
const CLOSE_LINGER_MS = 1_000;

/** A uTP connection as a {@link Transport}. */
export class UtpTransport extends StreamTransport {
  constructor(
    private readonly conn: UtpConnection,
    outgoing: boolean,
  ) {
    super(
      conn as unknown as Duplex,
      { kind: 'utp', outgoing, address: conn.remoteAddress, port: conn.remotePort, family: 'ipv4' },
      'BT_UTP_IO',
    );
  }

  start(handler: TransportHandler): void {
    this.attach(handler);
    // The stream holds what arrived before this (it flows only once a data listener exists).
    this.conn.on('data', (chunk: Buffer) => handler.data(chunk));
    if (this.closed) this.notify();
  }
}

export interface UtpEndpointOptions {
  /** IPv4 address to bind (default 0.0.0.0; "::" means the same here). */
  host?: string;
  /** UDP port; 0 for any free port. */
  port?: number;
  /** An incoming connection (after its first data packet: BitTorrent's dialer speaks first). */
  onConnection(transport: UtpTransport): void;
  /** Connections held at most; the socket stops accepting beyond (libutp's firewall). */
  maxConnections?: number;
}

export interface UtpDialOptions {
  signal?: AbortSignal;
  /** Give up connecting after this long (default 10 s; libutp's own SYN timeout is longer). */
  timeoutMs?: number;
}

/** One UDP socket that accepts and dials uTP connections. */
export interface UtpEndpoint {
  readonly port: number;
  readonly host: string;
  dial(
    host: string,
    port: number,
    options?: UtpDialOptions,
  ): Promise<{ ok: true; transport: UtpTransport } | { ok: false; error: CodedError }>;
  close(): Promise<void>;
}

/**
 * Binds a uTP socket and starts accepting. Rejects when the UDP port cannot be bound.
 * `utp-native` (a native addon) is loaded here, on first use, not when this module is: a
 * process that never opens uTP (`swarmcast get` without --utp) does not pay its ~45 ms of
 * start-up CPU.
 */
export async function openUtp(options: UtpEndpointOptions): Promise<UtpEndpoint> {
  const host = !options.host || options.host === '::' ? '0.0.0.0' : options.host;
  if (!isIPv4(host)) throw new Error(`uTP binds IPv4 addresses only (got ${host})`);
  const { default: utp } = await import('utp-native');
  const socket: UtpSocket = utp({ allowHalfOpen: false });
  if (options.maxConnections) socket.maxConnections = options.maxConnections;
  socket.on('connection', (conn) => options.onConnection(new UtpTransport(conn, false)));
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.listen(options.port ?? 0, host, () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      let closing: Promise<void> | undefined;
      resolve({
        port: socket.address().port,
        host,
        dial: (h, p, o) => dialOn(socket, h, p, o),
        close: () => {
          closing ??= new Promise<void>((r) => {
            for (const c of [...socket.connections]) c.destroy();
            // libutp frees the socket only after every connection finished its FIN exchange,
            // which waits out a peer that is already gone (~90 s): give it a moment, then let
            // it finish in the background without holding the process.
            const timer = setTimeout(() => {
              socket.unref();
              r();
            }, CLOSE_LINGER_MS);
            socket.close(() => {
              clearTimeout(timer);
              r();
            });
          });
          return closing;
        },
      });
    });
  });
}

function dialOn(
  socket: UtpSocket,
  host: string,
  port: number,
  options: UtpDialOptions = {},
): Promise<{ ok: true; transport: UtpTransport } | { ok: false; error: CodedError }> {
  return new Promise((resolve) => {
    const fail = (why: string, cause?: unknown) =>
      codedError('BT_UTP_DIAL', `utp dial ${host}:${port}: ${why}`, cause);
    if (!isIPv4(host)) {
      resolve({ ok: false, error: fail('not an IPv4 address') });
      return;
    }
    if (options.signal?.aborted) {
      resolve({ ok: false, error: fail('aborted') });
      return;
    }
    let conn: UtpConnection;
    try {
      conn = socket.connect(port, host);
    } catch (e) {
      resolve({ ok: false, error: fail((e as Error).message, e) });
      return;
    }
    // libutp may still report a reset after we gave up on the dial: never an unhandled error.
    conn.on('error', () => {});
    const finish = (r: { ok: true; transport: UtpTransport } | { ok: false; error: CodedError }) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      conn.off('error', onError);
      conn.off('close', onClose);
      conn.off('connect', onConnect);
      resolve(r);
    };
    const onError = (err: NodeJS.ErrnoException) => {
      conn.destroy();
      finish({ ok: false, error: fail(err.code ?? err.message, err) });
    };
    const onClose = () => finish({ ok: false, error: fail('closed') });
    const onAbort = () => {
      conn.destroy();
      finish({ ok: false, error: fail('aborted') });
    };
    const onConnect = () => finish({ ok: true, transport: new UtpTransport(conn, true) });
    const timer = setTimeout(() => {
      conn.destroy();
      finish({ ok: false, error: fail('timed out') });
    }, options.timeoutMs ?? 10_000);
    conn.on('error', onError);
    conn.on('close', onClose);
    conn.once('connect', onConnect);
    options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

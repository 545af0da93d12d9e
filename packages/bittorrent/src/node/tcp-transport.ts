import {
  createConnection,
  createServer,
  isIPv6,
  type NetConnectOpts,
  type Server,
  type Socket,
} from 'node:net';
import { type CodedError, codedError, type TransportHandler } from '../transport.ts';
import { HIGH_WATER, StreamTransport } from './stream-transport.ts';

/**
 * Size of the one read buffer a dialed connection reuses with `reuseReadBuffer`. Node's
 * default allocates a fresh 64 KiB buffer per read: at hundreds of MB/s that external memory
 * made V8 run a full mark-compact every ~15 MB (measured: 81 per GiB, about a fifth of the
 * download's CPU).
 */
const READ_BUFFER = 256 * 1024;

/**
 * A TCP connection as a {@link Transport}. Nagle is off (requests and haves are small and
 * latency-sensitive); reads are paused until `start`, so no byte is lost between accept and
 * the peer logic attaching.
 */
export class TcpTransport extends StreamTransport {
  /** Chunks read before `start` (none in practice: the socket is paused until then). */
  private early: Uint8Array[] = [];

  constructor(
    private readonly socket: Socket,
    outgoing: boolean,
    /** The socket reads into one reused buffer (net's `onread`) and calls `received`. */
    readonly transientChunks = false,
  ) {
    const address = socket.remoteAddress;
    super(
      socket,
      {
        kind: 'tcp',
        outgoing,
        ...(address ? { address: unmapV4(address), family: isIPv6(unmapV4(address)) ? 'ipv6' : 'ipv4' } : {}),
        ...(socket.remotePort ? { port: socket.remotePort } : {}),
      },
      'BT_TCP_IO',
    );
    socket.pause();
    socket.setNoDelay(true);
  }

  start(handler: TransportHandler): void {
    this.attach(handler);
    if (this.transientChunks) {
      const early = this.early;
      this.early = [];
      for (const chunk of early) handler.data(chunk);
    } else {
      this.socket.on('data', (chunk: Buffer) => handler.data(chunk));
    }
    if (this.closed) {
      this.notify();
      return;
    }
    this.socket.resume();
  }

  /** Bytes read into the reused buffer (transient mode): valid only during this call. */
  received(chunk: Uint8Array): void {
    if (this.handler) this.handler.data(chunk);
    else this.early.push(chunk.slice());
  }
}

/** "::ffff:1.2.3.4" (an IPv4 peer on a dual-stack socket) as "1.2.3.4". */
function unmapV4(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export interface DialOptions {
  signal?: AbortSignal;
  /** Give up connecting after this long (default 10 s). */
  timeoutMs?: number;
  /** Local address to dial from. */
  localAddress?: string;
  /**
   * Read into one reused buffer instead of a fresh one per read (the transport is then
   * `transientChunks`): for receivers that copy what they keep, like the peer wire decoder.
   */
  reuseReadBuffer?: boolean;
}

/** Connects to a peer; an unreachable peer is a value, not an exception. */
export function dialTcp(
  host: string,
  port: number,
  options: DialOptions = {},
): Promise<{ ok: true; transport: TcpTransport } | { ok: false; error: CodedError }> {
  return new Promise((resolve) => {
    if (options.signal?.aborted) {
      resolve({ ok: false, error: codedError('BT_TCP_DIAL', 'aborted') });
      return;
    }
    let transport: TcpTransport | undefined;
    const socket = createConnection({
      host,
      port,
      noDelay: true,
      ...(options.reuseReadBuffer
        ? {
            onread: {
              buffer: new Uint8Array(READ_BUFFER),
              callback: (n: number, buf: Uint8Array) => {
                transport?.received(buf.subarray(0, n));
                return true;
              },
            },
          }
        : {}),
      writableHighWaterMark: HIGH_WATER,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    } as NetConnectOpts);
    const finish = (r: { ok: true; transport: TcpTransport } | { ok: false; error: CodedError }) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      resolve(r);
    };
    const onError = (err: NodeJS.ErrnoException) => {
      socket.destroy();
      finish({
        ok: false,
        error: codedError('BT_TCP_DIAL', `dial ${host}:${port}: ${err.code ?? err.message}`, err),
      });
    };
    const onAbort = () => {
      socket.destroy();
      finish({ ok: false, error: codedError('BT_TCP_DIAL', `dial ${host}:${port}: aborted`) });
    };
    const timer = setTimeout(() => {
      socket.destroy();
      finish({ ok: false, error: codedError('BT_TCP_DIAL', `dial ${host}:${port}: timed out`) });
    }, options.timeoutMs ?? 10_000);
    socket.once('error', onError);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      transport = new TcpTransport(socket, true, options.reuseReadBuffer === true);
      finish({ ok: true, transport });
    });
  });
}

export interface TcpListener {
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

export interface ListenOptions {
  /** Default "::" (every IPv6 and IPv4 address on a dual-stack host). */
  host?: string;
  /** 0 for any free port. */
  port?: number;
  onConnection(transport: TcpTransport): void;
  /** Connections held at most; more are refused at once. */
  maxConnections?: number;
}

/** Accepts peers on a TCP port. */
export function listenTcp(options: ListenOptions): Promise<TcpListener> {
  const server: Server = createServer({ noDelay: true, pauseOnConnect: true, highWaterMark: HIGH_WATER });
  if (options.maxConnections) server.maxConnections = options.maxConnections;
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    options.onConnection(new TcpTransport(socket, false));
  });
  return new Promise((resolve, reject) => {
    const host = options.host ?? '::';
    server.once('error', (err: NodeJS.ErrnoException) => {
      // A host without IPv6: fall back to every IPv4 address.
      if (options.host === undefined && (err.code === 'EAFNOSUPPORT' || err.code === 'EADDRNOTAVAIL')) {
        listenTcp({ ...options, host: '0.0.0.0' }).then(resolve, reject);
      } else reject(err);
    });
    server.listen(options.port ?? 0, host, () => {
      server.removeAllListeners('error');
      server.on('error', () => {});
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      resolve({
        port,
        host,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            for (const s of sockets) s.destroy();
          }),
      });
    });
  });
}

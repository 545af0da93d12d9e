// Types for the parts of `utp-native` (libutp bindings, prebuilt binary in the package) we use.
declare module 'utp-native' {
  import { EventEmitter } from 'node:events';
  import type { Duplex } from 'node:stream';

  interface UtpConnection extends Duplex {
    readonly remoteAddress: string;
    readonly remotePort: number;
    destroyed: boolean;
  }
  interface UtpSocket extends EventEmitter {
    maxConnections: number;
    readonly connections: UtpConnection[];
    listen(port?: number, host?: string, onListening?: () => void): void;
    bind(port?: number, host?: string, onListening?: () => void): void;
    address(): { address: string; family: string; port: number };
    connect(port: number, host: string): UtpConnection;
    send(
      buf: Uint8Array,
      offset: number,
      len: number,
      port: number,
      host: string,
      cb?: (err: Error | null) => void,
    ): void;
    close(onClose?: () => void): void;
    unref(): void;
    ref(): void;
    on(event: 'connection', fn: (c: UtpConnection) => void): this;
    on(event: 'message', fn: (msg: Buffer, rinfo: { address: string; port: number }) => void): this;
    on(event: 'error', fn: (err: Error) => void): this;
    on(event: 'listening' | 'close', fn: () => void): this;
  }
  function utp(options?: { allowHalfOpen?: boolean }): UtpSocket;
  export default utp;
  export type { UtpConnection, UtpSocket };
}

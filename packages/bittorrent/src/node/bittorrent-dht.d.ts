// Types for the parts of `bittorrent-dht` we use (it ships none).
declare module 'bittorrent-dht' {
  import { EventEmitter } from 'node:events';

  interface DhtConstructorOptions {
    bootstrap?: string[] | false;
    host?: string | false;
    nodeId?: Uint8Array;
    verify?: (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;
  }
  interface PutOptions {
    k?: Uint8Array;
    seq?: number;
    v: unknown;
    salt?: Uint8Array;
    cas?: number;
    sign?: (message: Uint8Array) => Uint8Array;
  }
  interface GetResult {
    v: unknown;
    k?: Uint8Array;
    sig?: Uint8Array;
    seq?: number;
    salt?: Uint8Array;
  }
  class DHT extends EventEmitter {
    constructor(options?: DhtConstructorOptions);
    listen(port: number, address: string, callback?: () => void): void;
    address(): { address: string; family: string; port: number };
    lookup(infoHash: Uint8Array, callback?: (err: Error | null, found?: number) => void): () => void;
    announce(infoHash: Uint8Array, port: number, callback?: (err: Error | null) => void): void;
    addNode(node: { host: string; port: number }): void;
    put(
      opts: PutOptions,
      callback?: (err: Error | null, target: Uint8Array, nodes?: number) => void,
    ): Uint8Array;
    get(
      target: Uint8Array,
      opts: { salt?: Uint8Array; cache?: boolean },
      callback: (err: Error | null, result: GetResult | null) => void,
    ): void;
    destroy(callback?: () => void): void;
    nodes: { count(): number };
  }
  export default DHT;
}

// Types for the parts of `bittorrent-dht` we use (it ships none).
declare module 'bittorrent-dht' {
  import { EventEmitter } from 'node:events';

  interface DhtConstructorOptions {
    bootstrap?: string[] | false;
    host?: string | false;
    nodeId?: Uint8Array;
  }
  class DHT extends EventEmitter {
    constructor(options?: DhtConstructorOptions);
    listen(port: number, address: string, callback?: () => void): void;
    address(): { address: string; family: string; port: number };
    lookup(infoHash: Uint8Array, callback?: (err: Error | null, found?: number) => void): () => void;
    announce(infoHash: Uint8Array, port: number, callback?: (err: Error | null) => void): void;
    addNode(node: { host: string; port: number }): void;
    destroy(callback?: () => void): void;
    nodes: { count(): number };
  }
  export default DHT;
}

// Node adapters of @swarmcast/bittorrent (files, TCP, worker threads): "@swarmcast/bittorrent/node".
export { FileStorage, type FileStorageOptions } from './file-storage.ts';
export { nodeHasher, sha1Sync, sha256Sync } from './hasher.ts';
export {
  type DialOptions,
  dialTcp,
  type ListenOptions,
  listenTcp,
  type TcpListener,
  TcpTransport,
} from './tcp-transport.ts';

// Node adapters of @swarmcast/bittorrent (files, TCP, worker threads): "@swarmcast/bittorrent/node".
export { FileStorage, type FileStorageOptions } from './file-storage.ts';

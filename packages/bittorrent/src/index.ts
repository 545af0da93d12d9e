// The public surface of @swarmcast/bittorrent (see README.md beside this folder).

export * from './choker/index.ts';
export { type MemoryTransportOptions, memoryTransportPair } from './memory-transport.ts';
export * from './picker/index.ts';
export {
  type FileEntry,
  type FileSpan,
  fileAt,
  type LayoutFile,
  makeLayout,
  pieceSize,
  piecesOfFile,
  type StorageLayout,
  spansOf,
} from './storage/layout.ts';
export { MemoryStorage } from './storage/memory-storage.ts';
export { type Storage, StorageError, type StorageFactory } from './storage/storage.ts';
export {
  type Clock,
  type Random,
  seededRandom,
  systemClock,
  systemTimers,
  type TimerHandle,
  type Timers,
} from './timers.ts';
export {
  type CodedError,
  codedError,
  type Dialer,
  type DialResult,
  type PeerAddress,
  type RemoteInfo,
  type Transport,
  type TransportHandler,
} from './transport.ts';
export * from './wire/index.ts';

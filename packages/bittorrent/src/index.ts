// The public surface of @swarmcast/bittorrent (see README.md beside this folder).

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

// The public surface of @swarmcast/bittorrent (see README.md beside this folder).

// Browser-safe: nothing here imports a node: module (test/browser-bundle.test.ts).
export {
  type BDict,
  type BEncodable,
  type BencodeLimits,
  type BValue,
  type Decoded,
  decodeBencode,
  decodeBencodePrefix,
  defaultBencodeLimits,
  encodeBencode,
  isBytes,
  isDict,
  isInt,
  isList,
  type ScanReport,
  type Span,
  scanBencode,
} from './bencode.ts';
export { bytesEqual, concatBytes, fromBase32, fromHex, fromUtf8, toBase32, toHex, utf8 } from './bytes.ts';
export * from './choker/index.ts';
export { assembleTorrent, type BuiltTorrent, type TorrentMeta } from './create/assemble.ts';
export {
  type CreateOptions,
  createTorrentFromMemory,
  type MemoryFile,
  planFromOptions,
} from './create/create.ts';
export { hashPiece, type PieceHashes, pieceRange } from './create/hash-piece.ts';
export { autoPieceLength, validPieceLength } from './create/piece-length.ts';
export { planTorrent, type SourceFile, type TorrentPlan } from './create/plan.ts';
export type { PeerSource, PeerSourceHandler, TransferStats } from './discovery/peer-source.ts';
export { RelayedSource } from './discovery/relayed-source.ts';
export { type BtError, type BtErrorCode, fail, ok, type Result } from './errors.ts';
export * from './extensions/index.ts';
export { type Hasher, type SubtleDigest, subtleHasher } from './hasher.ts';
export { formatMagnet, type Magnet, magnetOf, parseMagnet } from './magnet.ts';
export { p2pParam, p2pWindowBytes, windowedEnd } from './media-window.ts';
export { type MemoryTransportOptions, memoryTransportPair } from './memory-transport.ts';
export {
  BLOCK_SIZE,
  blockHashes,
  merkleRoot,
  nextPowerOfTwo,
  padHash,
  rootFromPieceLayer,
  rootOfSmallFile,
  splitHashes,
  v2PieceHash,
} from './merkle.ts';
export {
  type FileSlice,
  type Metainfo,
  pieceHashV1,
  pieceLengthAt,
  pieceSlices,
  slicesOf,
  type TorrentFile,
  type TorrentVersion,
} from './metainfo/model.ts';
export { parseInfoDict, parseTorrent } from './metainfo/parse.ts';
export { v1OnlyTorrent } from './metainfo/v1-only.ts';
export { type V2Target, v2Target, verifyPiece } from './metainfo/verify.ts';
export type { EncryptionMode } from './mse/mse-handshake.ts';
export * from './peer/index.ts';
export * from './picker/index.ts';
export { layoutOf, verifierOf, wireInfoHash } from './session/from-metainfo.ts';
export { routeIncoming } from './session/handshake-router.ts';
export type { PeerInfo, PeerLink, PeerLinkEvents } from './session/peer-link.ts';
export type { VerifyPiece } from './session/piece-verification.ts';
export { type ReadRangeOptions, readVerifiedRange } from './session/range-reader.ts';
export { findVerifiedPieces } from './session/resume.ts';
export {
  type SessionEvents,
  type SessionStats,
  TorrentSession,
  type TorrentSessionOptions,
} from './session/torrent-session.ts';
export {
  type PieceSource,
  WebSeedDownloads,
  type WebSeedHost,
} from './session/web-seed-downloads.ts';
export {
  type WebSeedAsk,
  type WebSeedMode,
  type WebSeedRange,
  type WebSeedRun,
  type WebSeedView,
  webSeedRuns,
} from './session/web-seed-policy.ts';
export * from './sim/index.ts';
export {
  type FileEntry,
  type FileSpan,
  fileAt,
  type LayoutFile,
  makeLayout,
  pieceSize,
  piecesOfFile,
  requestablePieceSize,
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
  decodeCompactPeers,
  decodeCompactPeers6,
  encodeCompactPeers,
} from './tracker-client/compact-peers.ts';
export { parseAnnounceReply, parseScrapeReply } from './tracker-client/http-response.ts';
export {
  announceUrl,
  type FetchLike,
  HttpTracker,
  percentBytes,
  scrapeUrl,
} from './tracker-client/http-tracker.ts';
export {
  nextAnnounceDelay,
  TrackerPeerSource,
  type TrackerSourceOptions,
} from './tracker-client/tracker-source.ts';
export type {
  AnnounceEvent,
  AnnounceParams,
  AnnounceReply,
  Announcer,
  ScrapeEntry,
} from './tracker-client/types.ts';
export {
  decodeUdpResponse,
  encodeAnnounce,
  encodeConnect,
  encodeScrape,
  type UdpResponse,
  udpTimeoutMs,
} from './tracker-client/udp-codec.ts';
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
export {
  asByteCount,
  asInfoHashV1,
  asInfoHashV2,
  asPieceIndex,
  type Brand,
  type ByteCount,
  type InfoHashes,
  type InfoHashV1,
  type InfoHashV2,
  type PieceIndex,
  truncatedV2,
} from './types.ts';
export * from './webrtc/index.ts';
export { type WebFetch, WebSeed, type WebSeedOptions, webSeedFileUrl } from './webseed.ts';
export * from './wire/index.ts';

// Node adapters of @swarmcast/bittorrent (files, TCP, worker threads): "@swarmcast/bittorrent/node".

export {
  type DownloadOptions,
  downloadTorrent,
  loadTorrent,
  type SeedOptions,
  seedTorrent,
  type TorrentHandle,
} from './api.ts';
export { type CreatedTorrent, createTorrent } from './create-torrent.ts';
export { DhtNode, type DhtNodeOptions, type DhtSourceOptions, PUBLIC_DHT_BOOTSTRAP } from './dht.ts';
export { FileStorage, type FileStorageOptions } from './file-storage.ts';
export { type HashPoolOptions, type HashProgress, hashPlan } from './hash-pool.ts';
export { nodeHasher, sha1Sync, sha256Sync } from './hasher.ts';
export { fetchMagnetMetadata, type MagnetMetadata, type MagnetMetadataOptions } from './magnet-metadata.ts';
export {
  type Ed25519Keys,
  ed25519Signer,
  generateEd25519,
  mutableMagnet,
  parseMutableMagnet,
  verifyEd25519,
} from './mutable-item.ts';
export {
  parseByteRange,
  type StreamedFile,
  type StreamServer,
  type StreamServerOptions,
  startStreamServer,
} from './stream-server.ts';
export {
  type AddTorrentOptions,
  type PeerTransportKind,
  SwarmNode,
  type SwarmNodeOptions,
} from './swarm-node.ts';
export {
  type DialOptions,
  dialTcp,
  type ListenOptions,
  listenTcp,
  type TcpListener,
  TcpTransport,
} from './tcp-transport.ts';
export { trackerSources } from './tracker-sources.ts';
export { UdpTracker, type UdpTrackerOptions } from './udp-tracker.ts';
export {
  openUtp,
  type UtpDialOptions,
  type UtpEndpoint,
  type UtpEndpointOptions,
  UtpTransport,
} from './utp-transport.ts';
export { type DiskFile, type DiskSource, listSource } from './walk.ts';
export { type NodeRtcOptions, nativeIceServers, nodeRtcFactory, nodeWebSocket } from './webrtc.ts';

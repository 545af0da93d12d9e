// The public surface of @swarmcast/tracker (see README.md beside this folder).

export { type ClusterOptions, type RunningCluster, runTrackerCluster } from './cluster/cluster-tracker.ts';
export { compactPeer, normalizeIp, uncompactPeer } from './codec/address.ts';
export { type ConnectionIds, connectionIds } from './codec/connection-id.ts';
export {
  decodeHttpAnnounce,
  decodeHttpScrape,
  encodeHttpAnnounce,
  encodeHttpFailure,
  encodeHttpScrape,
} from './codec/http.ts';
export { type CodecLimits, defaultCodecLimits } from './codec/limits.ts';
export { decodeUdpPacket, encodeUdpError, type UdpMessage } from './codec/udp.ts';
export { decodeWsMessage, type WsMessage } from './codec/websocket.ts';
export { MemoryAccess, type TrackerAccess } from './core/access.ts';
export { AddressRateLimiter, type Bucket, type RateRule, takeToken } from './core/rate-limit.ts';
export {
  type AnnounceObservation,
  type AnnounceObserver,
  defaultIntervals,
  type Intervals,
  TrackerCore,
} from './core/tracker-core.ts';
export { isTrackerError, type TrackerError, type TrackerErrorCode, trackerErrors } from './errors.ts';
export { type AnnounceFactDeps, AnnounceFactPublisher, announceSubject } from './facts/announce-facts.ts';
export {
  type AnnounceFactsConfig,
  type OpenedFacts,
  openAnnounceFacts,
  openFactStream,
} from './facts/open-facts.ts';
export { type TrackerPluginDeps, trackerPlugin } from './server/fastify-plugin.ts';
export { answerHttp, type HttpReply } from './server/http-routes.ts';
export { type HttpTracker, startHttpTracker } from './server/node-http.ts';
export { answerUdp, startUdpTracker, type UdpTracker, type UdpTrackerOptions } from './server/udp-server.ts';
export { addressGroup } from './server/ws-relay.ts';
export { type RunningTracker, runStandaloneTracker, type StandaloneOptions } from './standalone.ts';
export { type MemoryStoreOptions, MemorySwarmStore } from './store/memory-store.ts';
export { RedisAccess } from './store/redis-access.ts';
export { type RedisStoreOptions, RedisSwarmStore } from './store/redis-store.ts';
export { sharedUdpSecret } from './store/redis-udp-secret.ts';
export type {
  StoreAnnounce,
  StoreAnnounceResult,
  StoreStats,
  SwarmStore,
  TorrentStats,
} from './store/swarm-store.ts';
export { defaultRateLimit, Tracker, type TrackerOptions } from './tracker.ts';
export type {
  AnnounceRequest,
  AnnounceResult,
  InfoHash,
  PeerKind,
  PeerRecord,
  ScrapeRequest,
  ScrapeResult,
  SwarmCounts,
  Transport,
} from './types.ts';

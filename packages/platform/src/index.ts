export {
  type AddressClassifier,
  ipv4ToNumber,
  ipv6ToBigInt,
  loadAddressList,
  parseAddressList,
  unmapIPv4,
} from './classify/addresses.ts';
export { defaultCountryHeader, parseCountry, trustedCountry } from './classify/country.ts';
export { classifyPeerId, clientFamilyFromPeerId, memoizedClientFamily } from './classify/peer-id.ts';
export { classifyReferrer, parseReferrerExclusions, type ReferrerClass } from './classify/referrer.ts';
export {
  loadSafeAddresses,
  noSafeAddresses,
  parseSafeAddresses,
  type SafeAddresses,
  safeListMaxAgeMs,
} from './classify/safe-addresses.ts';
export { classifyUserAgent, isAppleWatchDuplicate } from './classify/user-agent.ts';
export { type Clock, ManualClock, systemClock } from './clock.ts';
export { defaultEngineNames, type EngineNames, parseEngineNames } from './config/engine-names.ts';
export { parseTrustedProxies } from './config/trusted-proxies.ts';
export { type Config, type Env, loadConfig } from './config.ts';
export type { Db, Migration, Queryable, QueryResult, Transaction } from './db/db.ts';
export { claimLeases, leaseHolders, leaseMigrations, releaseLeases } from './db/leases.ts';
export { type MigrateResult, migrate } from './db/migrate.ts';
export { type OpenDbOptions, openDb } from './db/open-db.ts';
export { isDbUnavailable } from './db/unavailable.ts';
export { PlatformError, type PlatformErrorCode, platformErrors } from './errors.ts';
export type {
  AnnounceEvent,
  AnnounceFact,
  AudienceKey,
  ClientClass,
  DownloadFact,
  Fact,
  FactBase,
} from './facts.ts';
export { factSubjects } from './facts.ts';
export { faultPoint } from './fault-point.ts';
export {
  type IceServer,
  type IceSettings,
  iceServersFor,
  parseIceSettings,
  SELF_STUN,
  turnCredentials,
} from './ice/ice-servers.ts';
export {
  answerStunBinding,
  encodeBindingRequest,
  isStun,
  mappedAddressOf,
  parseStun,
  STUN_MAGIC_COOKIE,
  type StunMessage,
} from './ice/stun.ts';
export {
  type AudienceKeys,
  addressPrefix,
  audienceKeyWithSalt,
  createAudienceKeys,
  utcDay,
} from './privacy/audience-key.ts';
export {
  dayBefore,
  memorySaltStore,
  privacyMigrations,
  type RandomBytes,
  type SaltStore,
  saltDestroyAt,
  saltGraceMs,
} from './privacy/salt-store.ts';
export { fileSaltStore, openSaltStore, redisSaltStore } from './privacy/shared-salt-stores.ts';
export {
  redisFailureCounter,
  redisRateLimiter,
  redisSignal,
  type SharedFailureCounter,
  type SharedRateLimiter,
  type SharedRateRule,
  type SharedSignal,
} from './shared/redis-shared.ts';
export * from './site/index.ts';
export type {
  BatchHandler,
  ConsumeOptions,
  Consumer,
  EventStream,
  StreamEvent,
} from './stream/event-stream.ts';
export {
  type BatchShape,
  eventBatches,
  GroupCommit,
  type GroupCommitOptions,
  type GroupCommitStats,
} from './stream/group-commit.ts';
export { type OpenEventStreamOptions, openEventStream } from './stream/open-event-stream.ts';
export {
  encodeRecords as encodeStreamRecords,
  HEADER_BYTES as streamRecordHeaderBytes,
  recordEnvelope as streamRecordEnvelope,
  sealRecord as sealStreamRecord,
} from './stream/wal-format.ts';

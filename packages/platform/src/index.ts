export { type Clock, ManualClock, systemClock } from './clock.ts';
export type { Db, Migration, Queryable, QueryResult, Transaction } from './db/db.ts';
export { type MigrateResult, migrate } from './db/migrate.ts';
export { type OpenDbOptions, openDb } from './db/open-db.ts';
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
export type {
  BatchHandler,
  ConsumeOptions,
  Consumer,
  EventStream,
  StreamEvent,
} from './stream/event-stream.ts';
export { type OpenEventStreamOptions, openEventStream } from './stream/open-event-stream.ts';

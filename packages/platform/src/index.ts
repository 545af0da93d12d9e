export { type Clock, ManualClock, systemClock } from './clock.ts';
export type { Db, Migration, Queryable, QueryResult } from './db/db.ts';
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

import {
  type Clock,
  type Consumer,
  type Db,
  type EventStream,
  type StreamEvent,
  systemClock,
} from '@swarmcast/platform';

/**
 * Episode page views, counted like the other counts of the node: the views a web process
 * serves are facts on the node's event stream (the embedded write-ahead stream, or NATS
 * JetStream with NATS_URL) before their pages go out (page-view-recorder.ts), and one consumer
 * group adds them to `catalog_episodes.views`, idempotently by event id. So a process killed
 * with SIGKILL has lost no view it served, and N web processes count each view once.
 *
 * Rules:
 * 1. The views served at the same moment share one fact, `{ time, episodes: [[id, n], ...] }`
 *    (group commit: a fact is published while the previous is being stored, so under load one
 *    fact carries many views and the page pays an increment and a shared wait). A page is sent
 *    once its fact is durable; if the stream refuses or does not answer within `maxWaitMs`, it
 *    is sent anyway and its view may be lost (counted in stats, reported to `onError`).
 * 2. Each event id is counted at most once, however often it is delivered (a consumer dies
 *    after its commit and before its acknowledgement; two consumers get it after an ack wait).
 * 3. Ids are kept `keepMs` (8 days: longer than JetStream keeps an event, 7 days) behind the
 *    newest fact counted, and never less than that behind the consumer's clock, so a
 *    redelivery always finds its id.
 * 4. A malformed fact (not a time and a list of episode ids with positive counts) is skipped
 *    whole, not retried.
 * 5. Views of an episode deleted since are dropped.
 */

/** The subject of page views on the event stream (the catalog's own; measure does not read it). */
export const pageViewSubject = 'catalog.views';
/** The consumer group that counts page views (every web process joins it). */
export const pageViewGroup = 'catalog-page-views';
/** How long counted ids are kept (rule 3). */
export const pageViewKeepMs = 8 * 24 * 3600_000;
/** Most episodes one fact names. */
export const maxEpisodesPerFact = 10_000;

/** Page views as they travel on the stream: one web process's, at one moment. */
export interface PageViews {
  /** When the fact was made, by the web process's clock (ms since the epoch). */
  time: number;
  /** Episode id and its views, each episode once. */
  episodes: Array<[string, number]>;
}

const episodeIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/** Checks page views read from the stream; null when they are not (rule 4). */
export function decodePageViews(data: unknown): PageViews | null {
  if (typeof data !== 'object' || data === null) return null;
  const { time, episodes } = data as Record<string, unknown>;
  if (typeof time !== 'number' || !Number.isSafeInteger(time) || time <= 0) return null;
  if (!Array.isArray(episodes) || episodes.length === 0 || episodes.length > maxEpisodesPerFact) return null;
  const seen = new Set<string>();
  for (const pair of episodes as unknown[]) {
    if (!Array.isArray(pair) || pair.length !== 2) return null;
    const [id, n] = pair as unknown[];
    if (typeof id !== 'string' || !episodeIdPattern.test(id) || seen.has(id)) return null;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0 || n > 1_000_000_000) return null;
    seen.add(id);
  }
  return { time, episodes: episodes as Array<[string, number]> };
}

/** What one batch did. */
export interface CountedViews {
  /** Views added to episodes (rule 5: an episode gone adds nothing). */
  counted: number;
  /** Facts whose id was counted before (a redelivery), or repeated in the batch. */
  duplicates: number;
  /** Facts that were not page views (rule 4). */
  invalid: number;
}

/**
 * Adds a batch of page-view facts to `catalog_episodes.views`, each event id once (rule 2), in
 * one transaction: the ids go into `catalog_page_views` (a conflict means counted before),
 * then each episode's views from the fresh facts are added, the episodes locked in id order so
 * concurrent consumers never deadlock.
 */
export async function countPageViews(db: Db, events: readonly StreamEvent[]): Promise<CountedViews> {
  return countDecoded(db, decodeBatch(events));
}

/** A batch's facts decoded once: valid ones by event id, and the newest fact's time (0: none). */
interface DecodedBatch {
  byId: Map<string, PageViews>;
  size: number;
  invalid: number;
  newest: number;
}

function decodeBatch(events: readonly StreamEvent[]): DecodedBatch {
  const byId = new Map<string, PageViews>();
  let invalid = 0;
  let newest = 0;
  for (const e of events) {
    const v = decodePageViews(e.data);
    if (!v) invalid++;
    else {
      byId.set(e.id, v);
      newest = Math.max(newest, v.time);
    }
  }
  return { byId, size: events.length, invalid, newest };
}

async function countDecoded(db: Db, { byId, size, invalid }: DecodedBatch): Promise<CountedViews> {
  const ids = [...byId.keys()].sort();
  const repeated = size - invalid - ids.length;
  if (ids.length === 0) return { counted: 0, duplicates: repeated, invalid };
  const { fresh, counted } = await db.transaction(async (tx) => {
    const r = await tx.query<{ id: string }>(
      `insert into catalog_page_views (id, at)
       select * from unnest($1::text[], $2::bigint[])
       on conflict (id) do nothing returning id`,
      [ids, ids.map((id) => byId.get(id)!.time)],
    );
    const perEpisode = new Map<string, number>();
    for (const { id } of r.rows) {
      for (const [episode, n] of byId.get(id)!.episodes) {
        perEpisode.set(episode, (perEpisode.get(episode) ?? 0) + n);
      }
    }
    const episodes = [...perEpisode.keys()].sort();
    let added = 0;
    if (episodes.length > 0) {
      await tx.query('select id from catalog_episodes where id = any($1::text[]) order by id for update', [
        episodes,
      ]);
      const u = await tx.query<{ n: number }>(
        `update catalog_episodes e set views = e.views + c.n
         from unnest($1::text[], $2::int[]) as c(id, n) where e.id = c.id returning c.n`,
        [episodes, episodes.map((e) => perEpisode.get(e)!)],
      );
      for (const row of u.rows) added += row.n;
    }
    return { fresh: r.rows.length, counted: added };
  });
  return { counted, duplicates: repeated + ids.length - fresh, invalid };
}

/** Forgets counted ids older than `before` (ms since the epoch); returns how many. */
export async function forgetPageViews(db: Db, before: number): Promise<number> {
  const r = await db.query('delete from catalog_page_views where at < $1', [before]);
  return r.affectedRows;
}

export interface PageViewConsumerOptions {
  clock?: Clock;
  /** Largest batch of facts (default 100). */
  batchSize?: number;
  /**
   * A batch smaller than `batchSize` is followed by this pause (default 1 s), so facts
   * gather and the database sees a few transactions a second, not one per fact, whatever
   * the load. The views are durable on the stream meanwhile; they show this much later.
   */
  pauseMs?: number;
  /** How long counted ids are kept (default {@link pageViewKeepMs}). */
  keepMs?: number;
  onError?: (err: unknown) => void;
  signal?: AbortSignal;
}

export interface PageViewConsumer extends Consumer {
  stats(): CountedViews & { batches: number; forgotten: number };
}

/**
 * Joins the page-view group on `stream` and counts what arrives (a failed batch is left
 * for redelivery), pausing after a batch that was not full. At most once an hour of facts it
 * forgets the ids older than rule 3 allows.
 */
export async function consumePageViews(
  stream: EventStream,
  db: Db,
  options: PageViewConsumerOptions = {},
): Promise<PageViewConsumer> {
  const clock = options.clock ?? systemClock;
  const keepMs = options.keepMs ?? pageViewKeepMs;
  const batchSize = options.batchSize ?? 100;
  const pauseMs = options.pauseMs ?? 1000;
  let stopped = false;
  let wake: (() => void) | null = null;
  const totals = { counted: 0, duplicates: 0, invalid: 0, batches: 0, forgotten: 0 };
  let forgotUpTo = 0;
  const inner = await stream.consume(
    pageViewGroup,
    async (events) => {
      const batch = decodeBatch(events);
      let r: CountedViews;
      try {
        r = await countDecoded(db, batch);
      } catch (err) {
        options.onError?.(err);
        throw err;
      }
      totals.batches++;
      totals.counted += r.counted;
      totals.duplicates += r.duplicates;
      totals.invalid += r.invalid;
      const { newest } = batch;
      const before = Math.min(newest, clock.now()) - keepMs;
      if (newest > 0 && before - forgotUpTo >= 3600_000) {
        forgotUpTo = before;
        totals.forgotten += await forgetPageViews(db, before).catch((err: unknown) => {
          options.onError?.(err);
          return 0;
        });
      }
      if (events.length < batchSize && pauseMs > 0 && !stopped) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pauseMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
      }
    },
    {
      batchSize,
      subjects: [pageViewSubject],
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
  return {
    pending: () => inner.pending(),
    async stop() {
      stopped = true;
      // A batch in its pause is counted: let it be acknowledged rather than handed back.
      wake?.();
      await new Promise((r) => setImmediate(r));
      await inner.stop();
    },
    stats: () => ({ ...totals }),
  };
}

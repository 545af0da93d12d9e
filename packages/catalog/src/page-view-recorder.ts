import { randomUUID } from 'node:crypto';
import { type Clock, type EventStream, systemClock } from '@swarmcast/platform';
import { maxEpisodesPerFact, type PageViews, pageViewSubject } from './page-views.ts';

export interface PageViewStats {
  /** Views durable on the stream. */
  recorded: number;
  /** Views the stream failed to store. */
  failed: number;
  /** Views refused because too many were waiting for the stream. */
  refused: number;
  /** Views waiting for the stream now. */
  pending: number;
  /** Facts published (each carries the views of one moment). */
  facts: number;
}

/** Where the web layer records the views of the pages it serves. */
export interface PageViewRecorder {
  /**
   * Adds a view of `episodeId` to the next fact. Resolves true once that fact is durable,
   * false when the view was refused, the stream failed, or `maxWaitMs` passed; never rejects.
   * Send the page after it.
   */
  record(episodeId: string): Promise<boolean>;
  stats(): PageViewStats;
  /** Refuses new views; publishes what is queued and waits (at most `maxWaitMs`) for it. */
  close(): Promise<void>;
}

export interface PageViewRecorderOptions {
  clock?: Clock;
  /** Event ids (default random UUIDs). */
  newId?: () => string;
  /** Views waiting for the stream at once before more are refused (default 50,000). */
  maxPending?: number;
  /** How long a page waits for its fact to be durable (default 2 s, as the origin's last chunk). */
  maxWaitMs?: number;
  /** Facts being published at once (default 1); views arriving meanwhile wait for the next. */
  maxInFlight?: number;
  onError?: (err: unknown) => void;
}

/** The views of one fact and the one promise every page in it waits on. */
interface Batch {
  views: Map<string, number>;
  count: number;
  durable: Promise<boolean>;
  settle: (ok: boolean) => void;
}

/**
 * Records page views on `stream` by group commit (page-views.ts, rule 1): views queue in one
 * batch while up to `maxInFlight` facts are being stored; the next fact takes them all, so under
 * load a fact carries many views and a page costs a map increment and a shared promise.
 */
export function streamPageViews(
  stream: Pick<EventStream, 'publish'>,
  options: PageViewRecorderOptions = {},
): PageViewRecorder {
  const clock = options.clock ?? systemClock;
  const newId = options.newId ?? randomUUID;
  const maxPending = options.maxPending ?? 50_000;
  const maxWaitMs = options.maxWaitMs ?? 2000;
  const maxInFlight = Math.max(1, options.maxInFlight ?? 1);
  const stats: PageViewStats = { recorded: 0, failed: 0, refused: 0, pending: 0, facts: 0 };
  let next: Batch | null = null;
  let inFlight = 0;
  let scheduled = false;
  let closed = false;
  const publishing = new Set<Promise<void>>();

  const newBatch = (): Batch => {
    let settle!: (ok: boolean) => void;
    const durable = new Promise<boolean>((resolve) => {
      settle = resolve;
    });
    // The pages stop waiting after maxWaitMs; the fact may still be stored after that.
    const timer = setTimeout(() => settle(false), maxWaitMs);
    timer.unref();
    void durable.then(() => clearTimeout(timer));
    return { views: new Map(), count: 0, durable, settle };
  };

  const publish = (batch: Batch) => {
    inFlight++;
    const data: PageViews = { time: clock.now(), episodes: [...batch.views] };
    const done = stream
      .publish([{ id: newId(), subject: pageViewSubject, data }])
      .then(
        () => {
          stats.recorded += batch.count;
          stats.facts++;
          batch.settle(true);
        },
        (err: unknown) => {
          stats.failed += batch.count;
          options.onError?.(err);
          batch.settle(false);
        },
      )
      .finally(() => {
        inFlight--;
        stats.pending -= batch.count;
        publishing.delete(done);
        flush();
      });
    publishing.add(done);
  };

  const flush = () => {
    scheduled = false;
    if (next && inFlight < maxInFlight) {
      const batch = next;
      next = null;
      publish(batch);
    }
  };

  return {
    record(episodeId) {
      if (closed || stats.pending >= maxPending) {
        stats.refused++;
        if (!closed) options.onError?.(new Error(`${maxPending} page views already wait for the stream`));
        return Promise.resolve(false);
      }
      if (next && !next.views.has(episodeId) && next.views.size >= maxEpisodesPerFact) {
        const full = next;
        next = null;
        // Over the fact's size: it goes out now, beside those in flight.
        publish(full);
      }
      next ??= newBatch();
      next.views.set(episodeId, (next.views.get(episodeId) ?? 0) + 1);
      next.count++;
      stats.pending++;
      if (!scheduled) {
        scheduled = true;
        // setImmediate lets every request already parsed in this turn join the fact.
        setImmediate(flush);
      }
      return next.durable;
    },
    stats: () => ({ ...stats }),
    async close() {
      closed = true;
      if (next) {
        const batch = next;
        next = null;
        publish(batch);
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(publishing),
        new Promise((r) => {
          timer = setTimeout(r, maxWaitMs);
        }),
      ]);
      clearTimeout(timer);
    },
  };
}

import { randomUUID } from 'node:crypto';
import { type BatchShape, type Clock, type EventStream, GroupCommit, systemClock } from '@swarmcast/platform';
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

/**
 * The views of one moment as one fact: a map episode -> views, full at `maxEpisodesPerFact`
 * episodes (page-views.ts, rule 1).
 */
function summedViews(clock: Clock, newId: () => string): BatchShape<string, Map<string, number>> {
  return {
    open: () => new Map(),
    add(views, episodeId) {
      const n = views.get(episodeId);
      if (n !== undefined) views.set(episodeId, n + 1);
      else if (views.size >= maxEpisodesPerFact) return false;
      else views.set(episodeId, 1);
      return true;
    },
    events(views) {
      const data: PageViews = { time: clock.now(), episodes: [...views] };
      return [{ id: newId(), subject: pageViewSubject, data }];
    },
  };
}

/**
 * Records page views on `stream` by group commit (platform's `GroupCommit`, page-views.ts
 * rule 1): views queue in one batch while up to `maxInFlight` facts are being stored; the next
 * fact takes them all, summed by episode, so under load a fact carries many views and a page
 * costs a map increment and a shared promise. The policy of its own: a page waits at most
 * `maxWaitMs`, and a view refused for overload is reported to `onError`.
 */
export function streamPageViews(
  stream: Pick<EventStream, 'publish'>,
  options: PageViewRecorderOptions = {},
): PageViewRecorder {
  const maxPending = options.maxPending ?? 50_000;
  const maxWaitMs = options.maxWaitMs ?? 2000;
  const commit = new GroupCommit(stream, {
    shape: summedViews(options.clock ?? systemClock, options.newId ?? randomUUID),
    maxPending,
    maxConcurrentPublishes: options.maxInFlight ?? 1,
    maxWaitMs,
    ...(options.onError ? { onError: options.onError } : {}),
  });
  let closed = false;
  const refused = Promise.resolve(false);

  return {
    record(episodeId) {
      const durable = commit.add(episodeId);
      if (durable !== false) return durable;
      if (!closed) options.onError?.(new Error(`${maxPending} page views already wait for the stream`));
      return refused;
    },
    stats() {
      const s = commit.stats();
      return {
        recorded: s.stored,
        failed: s.failed,
        refused: s.refused,
        pending: s.pending,
        facts: s.batches,
      };
    },
    close() {
      closed = true;
      return commit.close(maxWaitMs);
    },
  };
}

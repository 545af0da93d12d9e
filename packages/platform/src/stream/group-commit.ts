import type { EventStream, StreamEvent } from './event-stream.ts';

/**
 * How a batch holds what its callers add, and which events it becomes when published. The
 * default ({@link eventBatches}) keeps the events as they are; a caller can sum instead (the
 * catalog's page views: one fact per moment, whatever the number of views).
 */
export interface BatchShape<I, B> {
  /** An empty batch. */
  open(): B;
  /** Adds `item`, or returns false (adding nothing) when the batch is full. An empty batch takes any item. */
  add(batch: B, item: I): boolean;
  /** The events that carry the batch; called once, when it is published. */
  events(batch: B): StreamEvent[];
}

/** Events kept as they are, at most `maxBatch` per publish. */
export function eventBatches(maxBatch: number): BatchShape<StreamEvent, StreamEvent[]> {
  return {
    open: () => [],
    add: (batch, event) => batch.length < maxBatch && batch.push(event) > 0,
    events: (batch) => batch,
  };
}

export interface GroupCommitOptions<I, B> {
  /** Default: {@link eventBatches} of 1,000 (only when items are events). */
  shape?: BatchShape<I, B>;
  /** Items waiting at once (queued or being published) before `add` refuses (default 50,000). */
  maxPending?: number;
  /** Batches being published at once (default 4); the rest wait, gathering items. */
  maxConcurrentPublishes?: number;
  /**
   * When set, a batch's callers stop waiting after this long (their promise resolves false);
   * the batch may still be stored after that.
   */
  maxWaitMs?: number;
  /** A publish the stream refused. */
  onError?: (err: unknown) => void;
}

export interface GroupCommitStats {
  /** Items durable on the stream. */
  stored: number;
  /** Items whose publish the stream refused. */
  failed: number;
  /** Items refused by `add` (too many pending, or closed). */
  refused: number;
  /** Items accepted and not yet settled by the stream. */
  pending: number;
  /** Batches stored. */
  batches: number;
}

/** Items gathered for one publish, and the one promise all their callers wait on. */
interface Batch<B> {
  body: B;
  count: number;
  /** True once the batch is durable, false if the stream refused it (or maxWaitMs passed). */
  durable: Promise<boolean>;
  settle: (ok: boolean) => void;
}

/**
 * Group commit in front of the durable stream: concurrent callers' items are published
 * together (one fsync or one JetStream round of acks for many), and each caller is answered
 * only when the publish that carried its item resolved. At most `maxPending` items wait at
 * once; beyond that `add` refuses at once, which bounds memory under a flood (a beacon is
 * answered 503 and retried by its client). A batch that fails is not retried: its callers
 * learn it (false) and decide.
 *
 * Invariants: batches are published in the order they were opened; only the newest batch
 * takes items; at most `maxConcurrentPublishes` publishes run at once (except on close,
 * which sends everything queued); `pending` counts every accepted item until its publish
 * settled.
 *
 * The callers of a batch share one promise: a promise and its resolvers per item were a
 * measurable part of the beacon collector's CPU and garbage (profile of the beacons bench).
 */
export class GroupCommit<I = StreamEvent, B = StreamEvent[]> {
  /** Batches waiting to be published; only the last one still takes items. */
  private queue: Batch<B>[] = [];
  private readonly shape: BatchShape<I, B>;
  private readonly maxPending: number;
  private readonly maxConcurrentPublishes: number;
  private readonly counts: GroupCommitStats = { stored: 0, failed: 0, refused: 0, pending: 0, batches: 0 };
  private publishing = 0;
  private scheduled = false;
  private closed = false;
  private idle: (() => void) | undefined;

  constructor(
    private readonly stream: Pick<EventStream, 'publish'>,
    private readonly options: GroupCommitOptions<I, B> = {},
  ) {
    this.shape = options.shape ?? (eventBatches(1000) as unknown as BatchShape<I, B>);
    this.maxPending = options.maxPending ?? 50_000;
    this.maxConcurrentPublishes = Math.max(1, options.maxConcurrentPublishes ?? 4);
  }

  /** Items accepted and not yet durable (or failed). */
  get pending(): number {
    return this.counts.pending;
  }

  stats(): GroupCommitStats {
    return { ...this.counts };
  }

  /**
   * Resolves true once the item is durable, false if the stream failed to store it (or
   * `maxWaitMs` passed); never rejects. Returns false at once when refused for overload or
   * after close.
   */
  add(item: I): Promise<boolean> | false {
    if (this.closed || this.counts.pending >= this.maxPending) {
      this.counts.refused++;
      return false;
    }
    let batch = this.queue.at(-1);
    if (!batch || !this.shape.add(batch.body, item)) {
      batch = this.open();
      if (!this.shape.add(batch.body, item)) throw new Error('GroupCommit: an empty batch refused an item');
    }
    batch.count++;
    this.counts.pending++;
    if (!this.scheduled) {
      this.scheduled = true;
      // setImmediate lets every request already parsed in this turn join the batch.
      setImmediate(this.flushNow);
    }
    return batch.durable;
  }

  private open(): Batch<B> {
    let settle!: (ok: boolean) => void;
    const durable = new Promise<boolean>((resolve) => {
      settle = resolve;
    });
    const maxWaitMs = this.options.maxWaitMs;
    if (maxWaitMs !== undefined) {
      const timer = setTimeout(settle, maxWaitMs, false);
      timer.unref();
      const resolve = settle;
      settle = (ok) => {
        clearTimeout(timer);
        resolve(ok);
      };
    }
    const batch: Batch<B> = { body: this.shape.open(), count: 0, durable, settle };
    this.queue.push(batch);
    return batch;
  }

  private readonly flushNow = (): void => {
    this.scheduled = false;
    this.flush(this.maxConcurrentPublishes);
  };

  private flush(limit: number): void {
    while (this.queue.length > 0 && this.publishing < limit) this.publish(this.queue.shift()!);
  }

  private publish(batch: Batch<B>): void {
    this.publishing++;
    this.stream.publish(this.shape.events(batch.body)).then(
      () => this.settled(batch, true),
      (err: unknown) => {
        this.options.onError?.(err);
        this.settled(batch, false);
      },
    );
  }

  private settled(batch: Batch<B>, ok: boolean): void {
    this.publishing--;
    this.counts.pending -= batch.count;
    if (ok) {
      this.counts.stored += batch.count;
      this.counts.batches++;
    } else this.counts.failed += batch.count;
    batch.settle(ok);
    if (this.queue.length > 0)
      this.flush(this.closed ? Number.POSITIVE_INFINITY : this.maxConcurrentPublishes);
    else if (this.publishing === 0) this.idle?.();
  }

  /**
   * Refuses new items, publishes every queued batch now, and waits (at most `timeoutMs`)
   * until all accepted items are durable or failed.
   */
  async close(timeoutMs = 30_000): Promise<void> {
    this.closed = true;
    this.flush(Number.POSITIVE_INFINITY);
    if (this.publishing === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.idle = resolve;
      timer = setTimeout(resolve, timeoutMs);
    });
    clearTimeout(timer);
  }
}

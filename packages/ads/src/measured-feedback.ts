/**
 * The ad server's side of the measurement feedback: consumes {@link MeasuredDelivery}
 * events (`delivery.measured`) from the measurement stream and applies each exactly once
 * to the store, so budgets, pacing and caps run on what measurement verified (and the
 * ledger charged), not on decisions.
 *
 * Exactly once: with a database, the event's id is recorded in `ads_measured` in the same
 * statement that decides whether it is new; the batch is acknowledged only after that, so a
 * crash redelivers it and the records skip what was applied. Without one (tests, a
 * throwaway store), ids are remembered in memory.
 */
import {
  type Clock,
  type Consumer,
  type Db,
  type EventStream,
  type StreamEvent,
  systemClock,
} from '@swarmcast/platform';
import { recordMeasured } from './persistence.ts';
import { lockForMeasured } from './shared-claims.ts';
import type { SharedDelivery } from './shared-delivery.ts';
import { isUnseeded } from './shared-seed.ts';
import type { AdsStore } from './store.ts';
import { type MeasuredDelivery, measuredDeliveryId, measuredDeliverySubject } from './tracking-contract.ts';

/** The consumer group of the ad server's feedback consumer (one ad server per node). */
export const feedbackGroup = 'ads-measured-delivery';

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 256;

/** The event's data as a MeasuredDelivery, or null when it is not one (skipped, counted). */
export function readMeasuredDelivery(data: unknown): MeasuredDelivery | null {
  if (typeof data !== 'object' || data === null) return null;
  const d = data as Record<string, unknown>;
  if (d.kind !== 'delivered' && d.kind !== 'refunded') return null;
  if (d.source !== 'vast' && d.source !== 'dai') return null;
  if (!isStr(d.decisionId) || !isStr(d.lineItemId) || !isStr(d.campaignId)) return null;
  if (typeof d.advertiserId !== 'string') return null;
  if (d.listenerId !== null && !isStr(d.listenerId)) return null;
  if (!isNum(d.issuedAt) || !isNum(d.time) || !isNum(d.cpmMicros) || !isNum(d.chargedMicros)) return null;
  if (d.cpmMicros < 0 || d.chargedMicros < 0) return null;
  return {
    kind: d.kind,
    source: d.source,
    decisionId: d.decisionId,
    lineItemId: d.lineItemId,
    campaignId: d.campaignId,
    advertiserId: d.advertiserId,
    listenerId: d.listenerId as string | null,
    issuedAt: d.issuedAt,
    time: d.time,
    cpmMicros: d.cpmMicros,
    chargedMicros: d.chargedMicros,
  };
}

export interface FeedbackStats {
  applied: number;
  duplicates: number;
  malformed: number;
}

export class MeasuredFeedback {
  readonly stats: FeedbackStats = { applied: 0, duplicates: 0, malformed: 0 };
  private readonly seen = new Set<string>();

  constructor(
    private readonly store: AdsStore,
    private readonly db?: Db,
    /** Caps and delivery shared by every process: each event reaches one of them (one group). */
    private readonly shared?: SharedDelivery,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Applies one batch of stream events; resolves once their effect is durable. */
  async apply(events: readonly StreamEvent[]): Promise<void> {
    try {
      await this.applyOnce(events);
    } catch (err) {
      // The shared counters were lost (Redis restarted or flushed): seeded here, out of the
      // transaction (the seed waits for the lock it held), then the batch applies again.
      if (!this.shared || !isUnseeded(err)) throw err;
      await this.shared.ready(this.clock.now());
      await this.applyOnce(events);
    }
  }

  private async applyOnce(events: readonly StreamEvent[]): Promise<void> {
    const items: { id: string; delivery: MeasuredDelivery }[] = [];
    const inBatch = new Set<string>();
    for (const e of events) {
      if (e.subject !== measuredDeliverySubject) continue;
      const delivery = readMeasuredDelivery(e.data);
      if (!delivery) {
        this.stats.malformed++;
        continue;
      }
      // The id is derived from the content, not taken from the event: two publishers of one
      // delivery (a retried outbox flush) collapse into one.
      const id = measuredDeliveryId(delivery);
      if (inBatch.has(id)) {
        this.stats.duplicates++;
        continue;
      }
      inBatch.add(id);
      items.push({ id, delivery });
    }
    // Shared totals (Redis) are written before the store's own, which seed a missing key, and
    // inside the transaction that records the ids: a Redis failure rolls the ids back and the
    // batch is redelivered whole. The transaction holds the seed's lock shared, so a seed after
    // a Redis loss does not read the tables until what Redis had (and lost) of it is committed
    // (shared-claims.ts).
    const toShared = async (f: typeof items) => {
      if (this.shared && f.length > 0) {
        await this.shared.measured(
          this.store,
          f.map((i) => i.delivery),
          this.clock.now(),
        );
      }
      return f;
    };
    let fresh: typeof items;
    if (this.db) {
      const db = this.db;
      fresh = await db.transaction(async (tx) => {
        if (this.shared) await lockForMeasured(tx);
        return toShared(await recordMeasured(tx, items));
      });
    } else {
      fresh = await toShared(items.filter((i) => !this.seen.has(i.id)));
      for (const i of fresh) this.seen.add(i.id);
    }
    this.stats.duplicates += items.length - fresh.length;
    for (const i of fresh) if (this.store.applyMeasured(i.delivery)) this.stats.applied++;
  }

  /** Joins the stream as the ad server's feedback consumer. */
  start(stream: EventStream, signal?: AbortSignal): Promise<Consumer> {
    return stream.consume(feedbackGroup, (events) => this.apply(events), {
      batchSize: 200,
      subjects: [measuredDeliverySubject],
      ...(signal ? { signal } : {}),
    });
  }
}

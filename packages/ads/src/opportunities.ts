/**
 * Ad opportunities for fill rate: `ads.opportunity` events for the breaks the ad server was
 * asked to fill (a known episode and break), filled or not, published on the measurement
 * stream. Measurement reads them as `AdOpportunityEvent` (packages/measure beacon-types.ts):
 * `slots` = the ad places asked for, `filled` = ads in the answers.
 *
 * The requests for one episode's break within one second are summed into one event (slots
 * and filled added up; `time` is the first request's): fill rate is a ratio of those sums, and
 * reports cut periods on whole seconds at most, so the figures are the same as with one event
 * per request. In a node measuring itself, one event (stream write, read back, row insert) per
 * request cost more CPU than the decision (node bench profile: about 40 % of the process at
 * saturation); the players of one episode ask for the same few breaks.
 *
 * A decision never waits for the stream: events are queued and published in batches (one
 * fsync or JetStream ack per batch) on a timer. The queue is bounded; when the stream is
 * down for long, new events are dropped and counted rather than growing memory.
 */
import { randomBytes } from 'node:crypto';
import type { EventStream, StreamEvent } from '@swarmcast/platform';

export const opportunitySubject = 'ads.opportunity';

export interface AdOpportunity {
  kind: 'opportunity';
  id: string;
  /** When the ad server answered the first of the summed requests, ms since the epoch. */
  time: number;
  episodeId: string;
  breakId: string;
  /** Ad places asked for, over the requests of this break in one second. */
  slots: number;
  /** Ads served in their answers. */
  filled: number;
}

export interface OpportunityPublisherOptions {
  stream: EventStream;
  flushEveryMs?: number;
  batchSize?: number;
  maxBacklog?: number;
}

export class OpportunityPublisher {
  private backlog: StreamEvent<AdOpportunity>[] = [];
  /** Requests of one (episode, break, second) summed since the last flush. */
  private readonly summing = new Map<string, Omit<AdOpportunity, 'kind' | 'id'>>();
  private readonly nonce = randomBytes(6).toString('hex');
  private seq = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private flushing: Promise<void> | null = null;
  readonly counts = { published: 0, dropped: 0, failedBatches: 0 };

  constructor(private readonly o: OpportunityPublisherOptions) {}

  record(e: Omit<AdOpportunity, 'kind' | 'id'>): void {
    const key = `${e.episodeId}\u0000${e.breakId}\u0000${Math.floor(e.time / 1000)}`;
    const same = this.summing.get(key);
    if (same) {
      same.slots += e.slots;
      same.filled += e.filled;
      return;
    }
    if (this.backlog.length + this.summing.size >= (this.o.maxBacklog ?? 100_000)) {
      this.counts.dropped++;
      return;
    }
    this.summing.set(key, { ...e });
    if (this.summing.size >= (this.o.batchSize ?? 500)) void this.flush();
  }

  /** The sums so far become events (the next request of their second starts a new one). */
  private seal(): void {
    for (const e of this.summing.values()) {
      const id = `${this.nonce}-${(this.seq++).toString(36)}`;
      this.backlog.push({ id, subject: opportunitySubject, data: { kind: 'opportunity', id, ...e } });
    }
    this.summing.clear();
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.o.flushEveryMs ?? 250);
    this.timer.unref();
  }

  /** Publishes what is queued; a failed batch stays queued for the next round. */
  flush(): Promise<void> {
    this.seal();
    if (this.flushing) return this.flushing;
    if (this.backlog.length === 0) return Promise.resolve();
    this.flushing = this.drain().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async drain(): Promise<void> {
    const size = this.o.batchSize ?? 500;
    while (this.backlog.length > 0) {
      const batch = this.backlog.slice(0, size);
      try {
        await this.o.stream.publish(batch);
      } catch {
        this.counts.failedBatches++;
        return;
      }
      this.backlog.splice(0, batch.length);
      this.counts.published += batch.length;
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
    // Sealed while a drain was finishing: published now (or left queued if the stream fails).
    if (this.backlog.length > 0) await this.flush();
  }
}

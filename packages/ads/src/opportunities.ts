/**
 * Ad opportunities for fill rate: one `ads.opportunity` event per break the ad server was
 * asked to fill (a known episode and break), filled or not, published on the measurement
 * stream. Measurement reads them as `AdOpportunityEvent` (packages/measure beacon-types.ts):
 * `slots` = the break's ad places, `filled` = ads in the answer.
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
  /** When the ad server answered, ms since the epoch. */
  time: number;
  episodeId: string;
  breakId: string;
  slots: number;
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
  private readonly nonce = randomBytes(6).toString('hex');
  private seq = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private flushing: Promise<void> | null = null;
  readonly counts = { published: 0, dropped: 0, failedBatches: 0 };

  constructor(private readonly o: OpportunityPublisherOptions) {}

  record(e: Omit<AdOpportunity, 'kind' | 'id'>): void {
    if (this.backlog.length >= (this.o.maxBacklog ?? 100_000)) {
      this.counts.dropped++;
      return;
    }
    const id = `${this.nonce}-${(this.seq++).toString(36)}`;
    this.backlog.push({ id, subject: opportunitySubject, data: { kind: 'opportunity', id, ...e } });
    if (this.backlog.length >= (this.o.batchSize ?? 500)) void this.flush();
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.o.flushEveryMs ?? 250);
    this.timer.unref();
  }

  /** Publishes what is queued; a failed batch stays queued for the next round. */
  flush(): Promise<void> {
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
  }
}

/**
 * The measurement event stream. Embedded default: an in-process queue with a write-ahead
 * file; production: NATS JetStream (NATS_URL). Both give the same guarantees:
 *
 * - publish() resolves only once the events are durable (fsynced to the write-ahead file,
 *   or acknowledged by JetStream); an event acknowledged to a client is never lost.
 * - Delivery is at least once: a consumer that dies before acking gets the events again.
 *   Consumers make processing idempotent by event id.
 * - Consumers in one group share the work (a queue group); each group sees every event.
 */
export interface StreamEvent<T = unknown> {
  /** Unique id; the idempotency key downstream. */
  id: string;
  /** Subject, e.g. "fact.announce", "fact.download", "beacon.ad", "beacon.play". */
  subject: string;
  data: T;
}

export interface ConsumeOptions {
  /** Largest batch handed to the handler at once. */
  batchSize?: number;
  /** Subjects to receive (exact or prefix with a trailing "."); all when omitted. */
  subjects?: string[];
  signal?: AbortSignal;
}

/** Handed a batch; resolving acknowledges it, throwing leaves it for redelivery. */
export type BatchHandler = (events: StreamEvent[]) => Promise<void>;

export interface Consumer {
  /** Events published but not yet acknowledged by this group (the lag). */
  pending(): Promise<number>;
  stop(): Promise<void>;
}

export interface EventStream {
  publish(events: StreamEvent[]): Promise<void>;
  /**
   * The embedded stream only: publishes `count` events whose records another process laid
   * out with `encodeStreamRecords` (a tracker worker's facts; the files have one owner),
   * written as they are. Refused when the bytes are not exactly `count` whole records.
   */
  publishEncoded?(records: Buffer, count: number): Promise<void>;
  consume(group: string, handler: BatchHandler, options?: ConsumeOptions): Promise<Consumer>;
  close(): Promise<void>;
}

/**
 * How a tracker worker's announce facts reach the embedded event stream, whose files one
 * process owns (the primary): the worker builds each fact and lays out the batch's records
 * as the stream writes them (audience key, client family, record text, length and crc;
 * facts/announce-facts.ts, encodeStreamRecords) and hands the bytes to the primary, which
 * appends them as they are (publishEncoded) and says when they are durable. With JetStream
 * there is no relay: every worker publishes to it directly.
 *
 * Why: the primary used to get the raw observations and build the facts itself, which put
 * the whole fact path (~14 us an announce in the perf profile of 2 workers, more than the
 * single process spends on it: the primary's code ran in the baseline tier) on a third
 * process competing with the two serving ones for two cores. Handing over each record's
 * strings instead still cost the primary ~5 us an announce (deserialising three strings a
 * fact, then the UTF-8 and crc pass); one Buffer a batch costs it the copy and the write.
 */
import { type EventStream, encodeStreamRecords, type StreamEvent } from '@swarmcast/platform';
import type { FactRecords } from './messages.ts';

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

/** The worker's side: an EventStream that can only publish, through `send` to the primary. */
export class FactRelay implements EventStream {
  private nextId = 1;
  private readonly waiting = new Map<number, Waiter>();
  private closed = false;

  /** `send` returns false when the primary cannot be reached. */
  constructor(private readonly send: (records: FactRecords) => boolean) {}

  publish(events: StreamEvent[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('fact relay closed'));
    if (events.length === 0) return Promise.resolve();
    return this.publishEncoded(encodeStreamRecords(events), events.length);
  }

  /** Records already laid out (the publisher's fact-records.ts), handed on as they are. */
  publishEncoded(records: Buffer, count: number): Promise<void> {
    if (this.closed) return Promise.reject(new Error('fact relay closed'));
    if (count === 0) return Promise.resolve();
    const id = this.nextId++;
    const message: FactRecords = { t: 'records', id, count, records };
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      if (!this.send(message)) {
        this.waiting.delete(id);
        reject(new Error('tracker primary unreachable'));
      }
    });
  }

  /** The primary's answer to batch `id`. */
  settle(id: number, ok: boolean): void {
    const w = this.waiting.get(id);
    if (!w) return;
    this.waiting.delete(id);
    if (ok) w.resolve();
    else w.reject(new Error('the primary could not append the facts'));
  }

  consume(): never {
    throw new Error('a tracker worker only publishes');
  }

  async close(): Promise<void> {
    this.closed = true;
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.reject(new Error('fact relay closed'));
  }
}

/** The primary's side: appends a worker's records to its embedded `stream` as they are. */
export async function appendRelayed(stream: EventStream, m: FactRecords): Promise<void> {
  if (!stream.publishEncoded) throw new Error('the fact relay needs the embedded stream');
  // A Buffer crosses the IPC channel as a Uint8Array.
  const bytes = Buffer.from(m.records.buffer, m.records.byteOffset, m.records.byteLength);
  await stream.publishEncoded(bytes, m.count);
}

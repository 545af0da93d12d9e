/**
 * Turns each accepted announce into an AnnounceFact on the measurement event stream.
 *
 * Privacy: the raw address, user agent and peer id are used here, in memory, to derive the
 * audience key (a keyed hash with a daily salt), the data-centre flag and the client family;
 * only those leave the process. Throughput: announces are answered at once, and facts are
 * published in batches (group commit) so one fsync or JetStream ack covers hundreds of them.
 * The backlog is bounded: past `maxBacklog` facts are dropped and counted in /metrics,
 * because an announce must not wait on measurement. Publication is at least once (a failed
 * batch is retried); ids are `<process nonce>-<sequence>`, stable across retries.
 */
import { randomBytes } from 'node:crypto';
import {
  type AnnounceFact,
  type AudienceKey,
  type EventStream,
  factSubjects,
  type StreamEvent,
} from '@swarmcast/platform';
import type { TrackerMetrics } from '../core/metrics.ts';
import type { AnnounceObservation, AnnounceObserver } from '../core/tracker-core.ts';
import { encodeFactRecords } from './fact-records.ts';

export const announceSubject = factSubjects.announce;

export interface AnnounceFactDeps {
  stream: EventStream;
  /** Keyed hash of (address prefix, user agent) under the day's salt (platform's audience keys). */
  audienceKey(ip: string, userAgent: string, now: number): Promise<AudienceKey> | AudienceKey;
  /** Client family from the peer id prefix (platform's clientFamilyFromPeerId). */
  clientFamily(peerId: Uint8Array): string;
  /** Whether the address is in an operator-listed data-centre range. */
  isDatacenter?(ip: string): boolean;
  metrics?: TrackerMetrics;
  batchSize?: number;
  flushEveryMs?: number;
  maxBacklog?: number;
}

/**
 * A batch ready for the stream: its facts as events, or, for a stream that takes encoded
 * records (the embedded one), as those records (fact-records.ts).
 */
type ReadyBatch = { count: number; events: StreamEvent<AnnounceFact>[] } | { count: number; records: Buffer };

/** The parts of a batch's facts that are looked up once per distinct value (see `prepare`). */
interface BatchLookups {
  /** The audience key of fact i. */
  key(i: number): AudienceKey;
  datacenter(i: number): boolean;
}

export class AnnounceFactPublisher implements AnnounceObserver {
  private backlog: AnnounceObservation[] = [];
  /** Batches the stream refused, published again first (same ids). */
  private retry: ReadyBatch[] = [];
  private retrying = 0;
  private readonly nonce = randomBytes(6).toString('hex');
  private seq = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private readonly batchSize: number;
  private readonly maxBacklog: number;
  /** Where /metrics counts facts; set after the tracker exists when built first. */
  metrics: TrackerMetrics | null;
  /** Counts kept even without a TrackerMetrics, for tests and callers. */
  readonly counts = { published: 0, dropped: 0, failedBatches: 0 };

  constructor(private readonly deps: AnnounceFactDeps) {
    this.batchSize = deps.batchSize ?? 500;
    this.maxBacklog = deps.maxBacklog ?? 100_000;
    this.metrics = deps.metrics ?? null;
  }

  observe(o: AnnounceObservation): void {
    if (this.backlog.length + this.retrying >= this.maxBacklog) {
      this.counts.dropped++;
      if (this.metrics) this.metrics.facts.dropped++;
      return;
    }
    this.backlog.push(o);
    if (this.backlog.length >= this.batchSize) void this.flush();
  }

  /** Starts the periodic flush. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.deps.flushEveryMs ?? 200);
    this.timer.unref();
  }

  /**
   * What the batch's facts need beyond each observation. Per batch, not per announce: each
   * distinct (day, address, user agent) is keyed once (a client re-announcing, or many
   * behind one NAT, share a key), each distinct address is looked up in the data-centre
   * ranges once (parsing the address was ~1 us a fact in the profile of `swarmcast
   * tracker`), and all keys of the batch are awaited together instead of one promise per
   * fact. The memos live for this batch only, so nothing outlives it in memory.
   */
  private async prepare(batch: AnnounceObservation[]): Promise<BatchLookups> {
    const pending = new Map<string, Promise<AudienceKey> | AudienceKey>();
    // The previous fact's memo key, reused when this one is from the same listener the same
    // day (announces come in runs from one address): no key string and lookup per fact.
    let last: { day: number; ip: string; ua: string | null; k: string } | null = null;
    const memo = (o: AnnounceObservation): string => {
      const r = o.request;
      const day = Math.floor(o.time / 86_400_000);
      if (last && last.day === day && last.ip === r.ip && last.ua === r.userAgent) return last.k;
      const k = `${day}\n${r.ip}\n${r.userAgent ?? ''}`;
      if (!pending.has(k)) pending.set(k, this.deps.audienceKey(r.ip, r.userAgent ?? '', o.time));
      last = { day, ip: r.ip, ua: r.userAgent, k };
      return k;
    };
    const keyOf = batch.map(memo);
    const isDatacenter = this.deps.isDatacenter;
    const datacenters = new Map<string, boolean>();
    const datacenterOf = (ip: string): boolean => {
      if (!isDatacenter) return false;
      let d = datacenters.get(ip);
      if (d === undefined) {
        d = isDatacenter(ip);
        datacenters.set(ip, d);
      }
      return d;
    };
    const keys = new Map<string, AudienceKey>();
    await Promise.all([...pending].map(async ([k, v]) => keys.set(k, await v)));
    return {
      key: (i) => keys.get(keyOf[i]!)!,
      datacenter: (i) => datacenterOf(batch[i]!.request.ip),
    };
  }

  /** The batch's facts as events (for a stream that takes only events: JetStream). */
  private async toEvents(batch: AnnounceObservation[]): Promise<StreamEvent<AnnounceFact>[]> {
    const lookups = await this.prepare(batch);
    return batch.map((o, i) => {
      const r = o.request;
      const fact: AnnounceFact = {
        kind: 'announce',
        id: `${this.nonce}-${(this.seq++).toString(36)}`,
        time: o.time,
        audienceKey: lookups.key(i),
        datacenter: lookups.datacenter(i),
        infoHash: r.infoHash,
        event: r.event,
        left: r.left,
        uploadedDelta: o.uploadedDelta,
        downloadedDelta: o.downloadedDelta,
        clientFamily: this.deps.clientFamily(r.peerId),
        transport: r.transport,
      };
      return { id: fact.id, subject: announceSubject, data: fact };
    });
  }

  /**
   * The batch's facts as the embedded stream's records, laid out at once with no fact
   * object or record string (fact-records.ts); the same bytes as `toEvents` then
   * encodeStreamRecords. Audience keys and client families are JSON-quoted and encoded
   * once per distinct value of the batch.
   */
  private async toRecords(batch: AnnounceObservation[]): Promise<Buffer> {
    const lookups = await this.prepare(batch);
    const encoded = new Map<string, Uint8Array>();
    const encode = (text: string): Uint8Array => {
      let b = encoded.get(text);
      if (b === undefined) {
        b = Buffer.from(JSON.stringify(text), 'utf8');
        encoded.set(text, b);
      }
      return b;
    };
    const families = batch.map((o) => encode(this.deps.clientFamily(o.request.peerId)));
    const firstSeq = this.seq;
    this.seq += batch.length;
    return encodeFactRecords(batch, {
      nonce: this.nonce,
      firstSeq,
      audienceKey: (i) => encode(lookups.key(i)),
      datacenter: lookups.datacenter,
      clientFamily: (i) => families[i]!,
    });
  }

  /** Publishes what is pending (one batch at a time); resolves when this round is done. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.backlog.length === 0 && this.retry.length === 0) return Promise.resolve();
    // Cleared in .finally, which always runs after this assignment (a synchronous
    // try/finally inside the async body could run first and leave a stale promise here).
    this.flushing = this.drain().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async drain(): Promise<void> {
    const stream = this.deps.stream;
    while (this.retry.length > 0 || this.backlog.length > 0) {
      let ready = this.retry.shift();
      if (ready) this.retrying -= ready.count;
      else {
        const batch = this.backlog.splice(0, this.batchSize);
        ready = stream.publishEncoded
          ? { count: batch.length, records: await this.toRecords(batch) }
          : { count: batch.length, events: await this.toEvents(batch) };
      }
      try {
        if ('records' in ready) await stream.publishEncoded!(ready.records, ready.count);
        else await stream.publish(ready.events);
        this.counts.published += ready.count;
        if (this.metrics) this.metrics.facts.published += ready.count;
      } catch {
        this.counts.failedBatches++;
        if (this.metrics) this.metrics.facts.failedBatches++;
        this.retry.unshift(ready);
        this.retrying += ready.count;
        return;
      }
    }
  }

  /** Stops the timer and publishes everything pending. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }
}

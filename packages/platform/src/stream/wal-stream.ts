import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireDirLock } from '../db/dir-lock.ts';
import { PlatformError } from '../errors.ts';
import type { BatchHandler, ConsumeOptions, Consumer, EventStream, StreamEvent } from './event-stream.ts';
import { subjectMatcher } from './subjects.ts';
import { checkEvents, checkGroup } from './validate.ts';
import { countRecords } from './wal-format.ts';
import { type Delivery, WalGroup } from './wal-group.ts';
import { WalLog } from './wal-log.ts';

export interface EmbeddedStreamOptions {
  /** Directory of the write-ahead log (`<dataDir>/stream` by default through openEventStream). */
  dir: string;
  /** Segment size before rolling to a new file (default 16 MiB). */
  segmentBytes?: number;
  /** How often acknowledged floors are persisted and old segments removed (default 100 ms). */
  persistEveryMs?: number;
  /** Pause before handing a failed batch out again (default 200 ms). */
  redeliveryDelayMs?: number;
  /** Where a consumer's unexpected failure (a damaged segment) is reported. */
  onError?: (err: unknown) => void;
}

/**
 * The embedded event stream: the write-ahead log plus consumer groups, in this process.
 * See wal-format.ts for the file format and README.md for the invariants.
 */
export async function openEmbeddedStream(options: EmbeddedStreamOptions): Promise<EventStream> {
  await mkdir(options.dir, { recursive: true });
  const release = await acquireDirLock(`${options.dir}.lock`, 'PLT_STREAM_LOCKED');
  try {
    const log = await WalLog.open(join(options.dir, 'log'), {
      segmentBytes: options.segmentBytes ?? 16 << 20,
    });
    const groupsDir = join(options.dir, 'groups');
    await mkdir(groupsDir, { recursive: true });
    const known = new Map<string, number>();
    for (const f of await readdir(groupsDir)) {
      if (!f.endsWith('.json')) continue;
      const floor = await WalGroup.loadFloor(join(groupsDir, f));
      if (floor !== null) known.set(f.slice(0, -5), floor);
    }
    return new EmbeddedStream(log, groupsDir, known, options, release);
  } catch (err) {
    await release();
    throw err;
  }
}

class EmbeddedStream implements EventStream {
  private readonly groups = new Map<string, WalGroup>();
  private readonly consumers = new Set<{ stop(): Promise<void> }>();
  private readonly wakers = new Set<() => void>();
  private readonly timer: NodeJS.Timeout;
  private readonly unlisten: () => void;
  private closed = false;
  private housekeeping: Promise<void> = Promise.resolve();

  constructor(
    private readonly log: WalLog,
    private readonly groupsDir: string,
    private readonly known: Map<string, number>,
    private readonly options: EmbeddedStreamOptions,
    private readonly release: () => Promise<void>,
  ) {
    this.unlisten = log.onCommit(() => this.wakeAll());
    this.timer = setInterval(() => {
      this.housekeeping = this.housekeeping.then(() => this.persistAndTrim()).catch(this.reportError);
    }, options.persistEveryMs ?? 100);
    this.timer.unref();
  }

  private readonly reportError = (err: unknown) => {
    (this.options.onError ?? ((e) => console.error('[platform] event stream:', e)))(err);
  };

  private wakeAll(): void {
    const ws = [...this.wakers];
    this.wakers.clear();
    for (const w of ws) w();
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wakers.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  async publish(events: StreamEvent[]): Promise<void> {
    if (this.closed) throw new PlatformError('PLT_STREAM_CLOSED', 'publish after close()');
    checkEvents(events);
    if (events.length === 0) return;
    await this.log.append(events);
  }

  async publishEncoded(records: Buffer, count: number): Promise<void> {
    if (this.closed) throw new PlatformError('PLT_STREAM_CLOSED', 'publish after close()');
    if (countRecords(records) !== count) {
      throw new PlatformError('PLT_STREAM_BAD_EVENT', `encoded records are not ${count} whole records`);
    }
    if (count === 0) return;
    await this.log.appendEncoded(records, count);
  }

  private group(name: string): WalGroup {
    let g = this.groups.get(name);
    if (!g) {
      // A group never seen starts at the oldest event still on disk.
      const onDisk = this.known.get(name);
      const floor = onDisk ?? this.log.segments[0]!;
      g = new WalGroup(name, this.log, join(this.groupsDir, `${name}.json`), floor, onDisk !== undefined);
      this.groups.set(name, g);
    }
    return g;
  }

  async consume(groupName: string, handler: BatchHandler, options: ConsumeOptions = {}): Promise<Consumer> {
    if (this.closed) throw new PlatformError('PLT_STREAM_CLOSED', 'consume after close()');
    checkGroup(groupName);
    const fresh = !this.groups.has(groupName);
    const group = this.group(groupName);
    if (fresh && options.subjects) group.matches = subjectMatcher(options.subjects);
    // Record the group at once so that retention keeps its events even before it acks.
    if (!this.known.has(groupName)) {
      this.known.set(groupName, group.floor());
      await group.persist();
    }
    const batchSize = Math.max(1, options.batchSize ?? 100);
    const redeliveryDelay = this.options.redeliveryDelayMs ?? 200;
    let stopped = false;
    let current: Delivery | null = null;
    let loopDone!: Promise<void>;

    const stop = async () => {
      if (stopped) return;
      stopped = true;
      if (current) group.release(current);
      this.wakeAll();
      this.consumers.delete(consumer);
      await Promise.race([loopDone, this.wait(50)]);
    };
    const consumer = { stop, pending: async () => group.pending() };
    this.consumers.add(consumer);
    options.signal?.addEventListener('abort', () => void stop(), { once: true });

    const loop = async () => {
      while (!stopped) {
        let d: Delivery | null;
        try {
          d = await group.take(batchSize);
        } catch (err) {
          this.reportError(err);
          stopped = true;
          break;
        }
        if (stopped) {
          if (d) group.release(d);
          break;
        }
        if (!d) {
          await this.wait(250);
          continue;
        }
        current = d;
        try {
          await handler(d.events);
          if (current === d) group.ack(d);
        } catch {
          group.release(d);
          this.wakeAll();
          await new Promise((r) => setTimeout(r, redeliveryDelay));
        }
        current = null;
      }
    };
    loopDone = loop();
    return consumer;
  }

  private async persistAndTrim(): Promise<void> {
    for (const g of this.groups.values()) {
      await g.persist();
      this.known.set(g.name, g.durableFloor());
    }
    if (this.known.size === 0) return;
    const floor = Math.min(...this.known.values());
    await this.log.dropBelow(floor);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.unlisten();
    await Promise.all([...this.consumers].map((c) => c.stop()));
    await this.housekeeping;
    await this.log.drain();
    await this.persistAndTrim().catch(this.reportError);
    for (const g of this.groups.values()) await g.close();
    await this.log.close();
    await this.release();
  }
}

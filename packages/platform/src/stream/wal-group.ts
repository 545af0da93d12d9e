import { open, readFile, rename } from 'node:fs/promises';
import type { StreamEvent } from './event-stream.ts';
import { type WalLog, WalReader } from './wal-log.ts';

export interface Delivery {
  id: number;
  /** Smallest sequence number in the batch (what the ack floor waits for). */
  minSeq: number;
  events: StreamEvent[];
}

/**
 * One consumer group of the embedded stream: a read cursor shared by the group's
 * consumers, the batches handed out and not yet acknowledged, and the batches to hand out
 * again. The ack floor (every event below it is acknowledged) is what gets persisted;
 * after a restart the group resumes there, so events acknowledged after the last
 * persisted floor are delivered again (at least once, never lost).
 */
export class WalGroup {
  private readonly reader: WalReader;
  private readonly inflight = new Map<number, Delivery>();
  private readonly redeliver: Delivery[] = [];
  private nextDeliveryId = 1;
  private reading: Promise<unknown> = Promise.resolve();
  private persistedFloor: number;
  /** The group's subject filter; null: every subject. */
  matches: ((subject: string) => boolean) | null = null;

  constructor(
    readonly name: string,
    private readonly log: WalLog,
    private readonly statePath: string,
    floor: number,
    onDisk: boolean,
  ) {
    this.reader = new WalReader(log, floor);
    // -1 makes the first persist() write the file, so a restart still knows the group.
    this.persistedFloor = onDisk ? floor : -1;
  }

  /** Reads the persisted floor of a group, or null for a group never seen. */
  static async loadFloor(statePath: string): Promise<number | null> {
    try {
      const o = JSON.parse(await readFile(statePath, 'utf8')) as { floor?: unknown };
      return typeof o.floor === 'number' && Number.isSafeInteger(o.floor) && o.floor >= 0 ? o.floor : null;
    } catch {
      return null;
    }
  }

  /** Every event below this sequence number is acknowledged by the group. */
  floor(): number {
    let f = this.reader.seq;
    for (const d of this.inflight.values()) f = Math.min(f, d.minSeq);
    for (const d of this.redeliver) f = Math.min(f, d.minSeq);
    return f;
  }

  /** The floor as last written to disk (what a restart would resume from). */
  durableFloor(): number {
    return Math.max(0, this.persistedFloor);
  }

  /** Published events this group has not acknowledged. */
  pending(): number {
    let n = this.log.end - this.reader.seq;
    for (const d of this.inflight.values()) n += d.events.length;
    for (const d of this.redeliver) n += d.events.length;
    return n;
  }

  /** The next batch for a consumer, or null when there is nothing now. */
  take(max: number): Promise<Delivery | null> {
    const next = this.reading.then(async () => {
      const again = this.redeliver.shift();
      if (again) {
        this.inflight.set(again.id, again);
        return again;
      }
      // Events a group does not subscribe to count as acknowledged as soon as read.
      for (let rounds = 0; rounds < 64; rounds++) {
        const before = this.reader.seq;
        const batch = await this.reader.read(max, undefined, this.matches ?? undefined);
        if (batch.length === 0 && this.reader.seq === before) return null;
        // Records the reader could not peek at are parsed and filtered here.
        const matches = this.matches;
        const wanted = matches ? batch.filter((r) => matches(r.event.subject)) : batch;
        if (wanted.length === 0) continue;
        const d: Delivery = {
          id: this.nextDeliveryId++,
          minSeq: wanted[0]!.seq,
          events: wanted.map((r) => r.event),
        };
        this.inflight.set(d.id, d);
        return d;
      }
      return null;
    });
    this.reading = next.catch(() => {});
    return next;
  }

  ack(d: Delivery): void {
    this.inflight.delete(d.id);
  }

  /** Puts a batch back to be handed out again (handler failed, or its consumer stopped). */
  release(d: Delivery): void {
    if (this.inflight.delete(d.id)) this.redeliver.push(d);
  }

  hasRedelivery(): boolean {
    return this.redeliver.length > 0;
  }

  /** Writes the floor if it moved: tmp file, fsync, rename (a floor on disk is always true). */
  persist(): Promise<void> {
    // Serialised: two overlapping writes would race on the one tmp file.
    const run = this.persisting.then(() => this.persistNow());
    this.persisting = run.catch(() => {});
    return run;
  }

  private persisting: Promise<void> = Promise.resolve();

  private async persistNow(): Promise<void> {
    const f = this.floor();
    if (f === this.persistedFloor) return;
    const tmp = `${this.statePath}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify({ floor: f }));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.statePath);
    this.persistedFloor = f;
  }

  async close(): Promise<void> {
    await this.reading;
    await this.reader.close();
  }
}

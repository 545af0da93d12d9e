import type { EventStream, StreamEvent } from '@swarmcast/platform';

/** Events published together, and the one promise every request in the batch waits on. */
interface Batch {
  events: StreamEvent[];
  /** True once the batch is durable, false if the stream refused it. */
  durable: Promise<boolean>;
  settle: (ok: boolean) => void;
}

/**
 * Group commit in front of the durable stream: concurrent requests' events are published
 * together (one fsync or one JetStream round of acks for many beacons), and each request
 * is answered only when the publish that carried its event resolved. At most `maxPending`
 * events wait at once; beyond that `add` refuses at once (the caller answers 503 and the
 * client retries), which bounds memory under a flood.
 *
 * The requests of a batch share one promise: a promise and its resolvers per beacon were
 * a measurable part of the collector's CPU and garbage (profile of the beacons bench).
 */
export class GroupCommit {
  /** Batches waiting to be published; only the last one still takes events. */
  private queue: Batch[] = [];
  private queued = 0;
  private inFlight = 0;
  private publishing = 0;
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly stream: EventStream,
    private readonly maxBatch = 1000,
    private readonly maxPending = 50_000,
    private readonly maxConcurrentPublishes = 4,
  ) {}

  /** Events accepted and not yet durable. */
  get pending(): number {
    return this.queued + this.inFlight;
  }

  /**
   * Resolves true once the event is durable, false if the stream failed to store it;
   * returns false at once when refused for overload or after close.
   */
  add(event: StreamEvent): Promise<boolean> | false {
    if (this.closed || this.pending >= this.maxPending) return false;
    let batch = this.queue.at(-1);
    if (!batch || batch.events.length >= this.maxBatch) {
      let settle!: (ok: boolean) => void;
      const durable = new Promise<boolean>((resolve) => {
        settle = resolve;
      });
      batch = { events: [], durable, settle };
      this.queue.push(batch);
    }
    batch.events.push(event);
    this.queued++;
    this.schedule();
    return batch.durable;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate lets every request already parsed in this turn join the batch.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.publishing < this.maxConcurrentPublishes) {
      const batch = this.queue.shift()!;
      const n = batch.events.length;
      this.queued -= n;
      this.inFlight += n;
      this.publishing++;
      this.stream
        .publish(batch.events)
        .then(
          () => batch.settle(true),
          () => batch.settle(false),
        )
        .finally(() => {
          this.publishing--;
          this.inFlight -= n;
          if (this.queue.length > 0) this.flush();
        });
    }
  }

  /** Refuses new events; waits for those accepted to become durable (or fail). */
  async close(timeoutMs = 30_000): Promise<void> {
    this.closed = true;
    const deadline = Date.now() + timeoutMs;
    while (this.pending > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  }
}

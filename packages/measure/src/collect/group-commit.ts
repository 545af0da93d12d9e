import type { EventStream, StreamEvent } from '@swarmcast/platform';

/**
 * Group commit in front of the durable stream: concurrent requests' events are published
 * together (one fsync or one JetStream round of acks for many beacons), and each request
 * is answered only when the publish that carried its event resolved. At most `maxPending`
 * events wait at once; beyond that `add` refuses at once (the caller answers 503 and the
 * client retries), which bounds memory under a flood.
 */
export class GroupCommit {
  private queue: { event: StreamEvent; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private inFlight = 0;
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
    return this.queue.length + this.inFlight;
  }

  /** Resolves once the event is durable; false when refused for overload or after close. */
  add(event: StreamEvent): Promise<boolean> | false {
    if (this.closed || this.pending >= this.maxPending) return false;
    return new Promise<boolean>((resolve, reject) => {
      this.queue.push({ event, resolve: () => resolve(true), reject });
      this.schedule();
    });
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

  private publishing = 0;

  private flush(): void {
    while (this.queue.length > 0 && this.publishing < this.maxConcurrentPublishes) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.publishing++;
      this.inFlight += batch.length;
      this.stream
        .publish(batch.map((b) => b.event))
        .then(
          () => {
            for (const b of batch) b.resolve();
          },
          (err) => {
            for (const b of batch) b.reject(err);
          },
        )
        .finally(() => {
          this.publishing--;
          this.inFlight -= batch.length;
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

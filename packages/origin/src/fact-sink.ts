import { type DownloadFact, type EventStream, factSubjects } from '@swarmcast/platform';

/**
 * Download facts leave the request path through a small batcher: many requests share one
 * publish (one fsync on the embedded stream, one acknowledgement from JetStream). If the
 * stream fails, facts are kept and retried; past `maxQueued` the oldest are dropped and
 * counted (ORG_FACTS_DROPPED), so memory stays bounded during an outage.
 */
export interface FactSink {
  /**
   * Queues the fact. The promise says when it is durable (true: the stream acknowledged it;
   * false: it was dropped); the origin holds a body's last bytes on it, so a process killed
   * after a listener has the whole file has already stored the download.
   */
  push(fact: DownloadFact): Promise<boolean>;
  /** Publishes everything queued now (tests, shutdown). */
  flush(): Promise<void>;
  stats(): { published: number; dropped: number; queued: number };
  close(): Promise<void>;
}

export interface StreamFactSinkOptions {
  maxBatch?: number;
  maxDelayMs?: number;
  maxQueued?: number;
  onError?: (err: unknown) => void;
}

export function streamFactSink(stream: EventStream, options: StreamFactSinkOptions = {}): FactSink {
  const maxBatch = options.maxBatch ?? 500;
  const maxDelay = options.maxDelayMs ?? 20;
  const maxQueued = options.maxQueued ?? 50_000;
  let queue: Array<{ fact: DownloadFact; durable: (ok: boolean) => void }> = [];
  let published = 0;
  let dropped = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const publishSome = async (): Promise<void> => {
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      try {
        await stream.publish(
          batch.map(({ fact }) => ({ id: fact.id, subject: factSubjects.download, data: fact })),
        );
      } catch (err) {
        options.onError?.(err);
        schedule(Math.max(maxDelay, 500));
        return;
      }
      // By identity, not position: facts dropped during the publish left the front meanwhile.
      const sent = new Set(batch);
      queue = queue.filter((q) => !sent.has(q));
      published += batch.length;
      for (const q of batch) q.durable(true);
    }
  };
  const run = () => {
    timer = undefined;
    running = running.then(publishSome);
    return running;
  };
  const schedule = (ms: number) => {
    if (!timer) {
      timer = setTimeout(run, ms);
      timer.unref();
    }
  };
  return {
    push(fact) {
      const durable = new Promise<boolean>((resolve) => queue.push({ fact, durable: resolve }));
      if (queue.length > maxQueued) {
        const over = queue.length - maxQueued;
        for (const q of queue.slice(0, over)) q.durable(false);
        queue = queue.slice(over);
        dropped += over;
        options.onError?.(new Error(`ORG_FACTS_DROPPED: ${over} download facts dropped, stream unavailable`));
      }
      schedule(queue.length >= maxBatch ? 0 : maxDelay);
      return durable;
    },
    async flush() {
      if (timer) clearTimeout(timer);
      await run();
    },
    stats: () => ({ published, dropped, queued: queue.length }),
    async close() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      await run();
    },
  };
}

/** Keeps facts in memory: for tests and for a node that measures nothing. */
export function memoryFactSink(): FactSink & { facts: DownloadFact[] } {
  const facts: DownloadFact[] = [];
  return {
    facts,
    push: async (f) => {
      facts.push(f);
      return true;
    },
    flush: async () => {},
    stats: () => ({ published: facts.length, dropped: 0, queued: 0 }),
    close: async () => {},
  };
}

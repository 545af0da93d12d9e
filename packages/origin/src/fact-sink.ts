import type { DownloadFact, EventStream } from '@swarmcast/platform';

/**
 * Download facts leave the request path through a small batcher: a request never waits
 * for the stream, and many requests share one publish (one fsync on the embedded stream).
 * If the stream fails, facts are kept and retried; past `maxQueued` the oldest are
 * dropped and counted (ORG_FACTS_DROPPED), so memory stays bounded during an outage.
 */
export interface FactSink {
  push(fact: DownloadFact): void;
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
  let queue: DownloadFact[] = [];
  let published = 0;
  let dropped = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const publishSome = async (): Promise<void> => {
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      try {
        await stream.publish(batch.map((f) => ({ id: f.id, subject: 'fact.download', data: f })));
      } catch (err) {
        options.onError?.(err);
        schedule(Math.max(maxDelay, 500));
        return;
      }
      queue = queue.slice(batch.length);
      published += batch.length;
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
      queue.push(fact);
      if (queue.length > maxQueued) {
        const over = queue.length - maxQueued;
        queue = queue.slice(over);
        dropped += over;
        options.onError?.(new Error(`ORG_FACTS_DROPPED: ${over} download facts dropped, stream unavailable`));
      }
      schedule(queue.length >= maxBatch ? 0 : maxDelay);
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
    push: (f) => {
      facts.push(f);
    },
    flush: async () => {},
    stats: () => ({ published: facts.length, dropped: 0, queued: 0 }),
    close: async () => {},
  };
}

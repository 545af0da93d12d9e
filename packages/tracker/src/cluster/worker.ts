/**
 * Entry point of one tracker worker process (cluster.fork runs this file). It serves HTTP,
 * WebSocket and UDP on the sockets the primary shares, keeps a full copy of the swarms
 * (ReplicatedStore, or the shared Redis store), and sends its accepted announces and its
 * announce observations to the primary in batches (every 10 ms).
 */

import { runStandaloneTracker } from '../standalone.ts';
import { MemorySwarmStore } from '../store/memory-store.ts';
import { FactBatchWriter, readStoreBatch, StoreBatchWriter } from './batch-codec.ts';
import { type PrimaryMessage, type WorkerConfig, type WorkerMessage, workerConfigEnv } from './messages.ts';
import { ReplicatedStore } from './replicated-store.ts';

const config = JSON.parse(process.env[workerConfigEnv] ?? '{}') as WorkerConfig;
const send = (m: WorkerMessage) => process.send?.(m);

// Both halves travel in one message every `flushMs`. Not once per event-loop turn: with one
// request per connection most turns carry a single announce, and a message per announce
// (a pipe write here, a read and two writes in the primary, a read in each other worker)
// cost more CPU than the announce. Ten milliseconds of replication lag is nothing next to
// announce intervals of minutes.
const flushMs = 10;
const storeBatch = new StoreBatchWriter();
const factBatch = new FactBatchWriter();
let scheduled = false;
const flush = () => {
  scheduled = false;
  if (storeBatch.empty && factBatch.empty) return;
  send({
    t: 'batch',
    store: storeBatch.empty ? null : storeBatch.take(),
    facts: factBatch.empty ? null : factBatch.take(),
  });
};
const schedule = () => {
  if (!scheduled) {
    scheduled = true;
    setTimeout(flush, flushMs);
  }
};

const replicated = config.redisUrl
  ? null
  : new ReplicatedStore(new MemorySwarmStore(), (a) => {
      storeBatch.add(a);
      schedule();
    });

// A replacement worker first takes a live worker's copy of the swarms (see messages.ts).
if (config.awaitSnapshot) {
  await new Promise<void>((resolve) => {
    const onMessage = (m: PrimaryMessage) => {
      if (m.t !== 'snapshot') return;
      process.off('message', onMessage);
      if (m.store) replicated?.apply(readStoreBatch(Buffer.from(m.store)));
      resolve();
    };
    process.on('message', onMessage);
    // Asked only now: a message sent before a listener exists would be lost.
    send({ t: 'want-snapshot' });
  });
}

const running = await runStandaloneTracker({
  port: config.port,
  host: config.host,
  redisUrl: config.redisUrl,
  redisPrefix: config.redisPrefix ?? undefined,
  private: config.private,
  accessFile: config.accessFile,
  rateLimit: config.rateLimit,
  intervals: config.intervals,
  store: replicated ?? undefined,
  udpSecret: Buffer.from(config.udpSecret, 'hex'),
  observer: config.facts
    ? {
        observe(o) {
          factBatch.add(o);
          schedule();
        },
      }
    : null,
});

let closing = false;
const close = async () => {
  if (closing) return;
  closing = true;
  await running.close();
  flush();
  process.disconnect?.();
};

process.on('message', (m: PrimaryMessage) => {
  if (m.t === 'apply') replicated?.apply(readStoreBatch(Buffer.from(m.store)));
  else if (m.t === 'dump') {
    const w = new StoreBatchWriter();
    if (replicated) for (const a of replicated.dump(running.tracker.core.intervals.peerTtlMs)) w.add(a);
    send({ t: 'snapshot', to: m.to, store: w.take() });
  } else if (m.t === 'facts') {
    const f = running.tracker.metrics.facts;
    f.published = m.published;
    f.dropped = m.dropped;
    f.failedBatches = m.failedBatches;
  } else if (m.t === 'close') void close();
});
// The primary decides when to stop (a terminal's Ctrl-C reaches every process of the group).
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
// A primary that died leaves no one to relay to: stop rather than serve a partial view.
process.on('disconnect', () => {
  void close().finally(() => process.exit(0));
});
send({ t: 'ready', port: running.port });

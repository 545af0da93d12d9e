/**
 * Entry point of one tracker worker process (cluster.fork runs this file). It serves HTTP,
 * WebSocket and UDP on the sockets the primary shares, owns one partition of the swarms
 * (PartitionedStore: its own in memory, the others' one Unix socket away; or the shared
 * Redis store), and publishes the facts of the announces it accepted (fact-relay.ts).
 */

import { udpAnnounceInfoHashOffset } from '../codec/udp.ts';
import type { AnnounceObserver } from '../core/tracker-core.ts';
import { type OpenedFacts, openAnnounceFacts } from '../facts/open-facts.ts';
import type { UdpTrackerOptions } from '../server/udp-server.ts';
import { runStandaloneTracker } from '../standalone.ts';
import { MemorySwarmStore } from '../store/memory-store.ts';
import { FactBatchWriter } from './batch-codec.ts';
import { FactRelay } from './fact-relay.ts';
import {
  type PrimaryMessage,
  storeSocketPath,
  type WorkerConfig,
  type WorkerMessage,
  workerConfigEnv,
} from './messages.ts';
import { PartitionedStore, partitionOfBytes } from './partitioned-store.ts';
import { type DatagramHandler, StoreLink, serveStorePartition } from './store-link.ts';

const config = JSON.parse(process.env[workerConfigEnv] ?? '{}') as WorkerConfig;
const send = (m: WorkerMessage): boolean => process.send?.(m) ?? false;

// The facts of the announces this worker accepts, published from here: building them is
// the larger part of the fact path, and here it runs on the core that took the announce.
// The embedded stream's files are the primary's, so its records go there ready to append.
const relay =
  config.facts && !config.facts.stream.natsUrl ? new FactRelay((r) => process.connected && send(r)) : null;
const facts: OpenedFacts | null = config.facts
  ? await openAnnounceFacts(config.facts, relay ?? undefined)
  : null;

// Raw observations, only for an observer given to the primary (tests, embedders), travel
// every `flushMs`. Not once per event-loop turn: with one request per connection most
// turns carry a single announce, and a message per announce (a pipe write here, a read and
// a decode in the primary) cost more CPU than the announce.
const flushMs = 10;
const factBatch = new FactBatchWriter();
let scheduled = false;
const flush = () => {
  scheduled = false;
  if (!factBatch.empty) send({ t: 'batch', facts: factBatch.take() });
};

// Without Redis: this worker's partition, served to the other workers before this one
// takes any request, and a link to each other partition (connected on first use).
let partition: { close(): Promise<void> } | null = null;
let store: PartitionedStore | undefined;
let udpForward: UdpTrackerOptions['forward'];
// Datagrams handed over before this worker's UDP server is up are dropped (clients retry).
let answerHandedOver: DatagramHandler = () => undefined;
if (!config.redisUrl) {
  const local = new MemorySwarmStore();
  partition = await serveStorePartition(
    storeSocketPath(config.linkDir, config.partition),
    local,
    (packet, address, port) => answerHandedOver(packet, address, port),
  );
  const links = Array.from({ length: config.partitions }, (_, i) =>
    i === config.partition ? null : new StoreLink(storeSocketPath(config.linkDir, i)),
  );
  store = new PartitionedStore(local, config.partition, links);
  // A UDP announce for another worker's swarm is handed over whole, not asked about: the
  // owner decodes and answers it (from its handle of the same socket), so this worker
  // spends a peek and a copy on it, and no answer comes back over the link.
  udpForward = (packet, rinfo) => {
    const at = udpAnnounceInfoHashOffset(packet);
    if (at === null) return false;
    const link = links[partitionOfBytes(packet, at, config.partitions)];
    if (!link) return false;
    link.datagram(packet, rinfo.address, rinfo.port);
    return true;
  };
}

function observerOf(list: (AnnounceObserver | null)[]): AnnounceObserver | null {
  const some = list.filter((o): o is AnnounceObserver => o !== null);
  if (some.length <= 1) return some[0] ?? null;
  return {
    observe(o) {
      for (const s of some) s.observe(o);
    },
  };
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
  store,
  udpSecret: Buffer.from(config.udpSecret, 'hex'),
  udpForward,
  observer: observerOf([
    facts?.publisher ?? null,
    config.observe
      ? {
          observe(o) {
            factBatch.add(o);
            if (!scheduled) {
              scheduled = true;
              setTimeout(flush, flushMs);
            }
          },
        }
      : null,
  ]),
});
if (facts) {
  // This worker's /metrics counts the facts it published.
  facts.publisher.metrics = running.tracker.metrics;
  facts.publisher.start();
}

answerHandedOver = (packet, address, port) => running.udp.answer(packet, address, port);

let closing = false;
const close = async () => {
  if (closing) return;
  closing = true;
  await running.close();
  await partition?.close();
  // The last facts are appended by the primary, which waits for this process to exit.
  await facts?.close();
  await relay?.close();
  flush();
  process.disconnect?.();
};

process.on('message', (m: PrimaryMessage) => {
  if (m.t === 'appended') relay?.settle(m.id, m.ok);
  else if (m.t === 'close') void close();
});
// The primary decides when to stop (a terminal's Ctrl-C reaches every process of the group).
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
// A primary that died leaves the worker alone (and no one to append embedded facts): stop.
process.on('disconnect', () => {
  void close().finally(() => process.exit(0));
});
send({ t: 'ready', port: running.port });

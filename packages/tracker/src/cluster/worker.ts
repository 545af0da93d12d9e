/**
 * Entry point of one tracker worker process (cluster.fork runs this file). It serves HTTP,
 * WebSocket and UDP on the sockets the primary shares, owns one partition of the swarms
 * (PartitionedStore: its own in memory, the others' one Unix socket away; or the shared
 * Redis store), and sends its announce observations to the primary in batches (every 10 ms).
 */

import { udpAnnounceInfoHashOffset } from '../codec/udp.ts';
import type { UdpTrackerOptions } from '../server/udp-server.ts';
import { runStandaloneTracker } from '../standalone.ts';
import { MemorySwarmStore } from '../store/memory-store.ts';
import { FactBatchWriter } from './batch-codec.ts';
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
const send = (m: WorkerMessage) => process.send?.(m);

// Observations travel every `flushMs`. Not once per event-loop turn: with one request per
// connection most turns carry a single announce, and a message per announce (a pipe write
// here, a read and a decode in the primary) cost more CPU than the announce. Facts are
// measurement: 10 ms of delay is nothing to them.
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
  observer: config.facts
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
});

answerHandedOver = (packet, address, port) => running.udp.answer(packet, address, port);

let closing = false;
const close = async () => {
  if (closing) return;
  closing = true;
  await running.close();
  await partition?.close();
  flush();
  process.disconnect?.();
};

process.on('message', (m: PrimaryMessage) => {
  if (m.t === 'facts') {
    const f = running.tracker.metrics.facts;
    f.published = m.published;
    f.dropped = m.dropped;
    f.failedBatches = m.failedBatches;
  } else if (m.t === 'close') void close();
});
// The primary decides when to stop (a terminal's Ctrl-C reaches every process of the group).
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
// A primary that died leaves no one to publish the facts: stop.
process.on('disconnect', () => {
  void close().finally(() => process.exit(0));
});
send({ t: 'ready', port: running.port });

/**
 * What the primary and the tracker workers say to each other over the cluster IPC channel
 * (advanced serialization: a Buffer passes as one copy). Announces never pass here: a
 * worker sends one for another worker's swarm straight to that worker (store-link.ts).
 * Facts: each worker publishes its own (JetStream directly; the embedded stream through the
 * primary, which owns its files: `records`, fact-relay.ts). An observer given to the primary
 * (tests, embedders) gets the raw observations, 10 ms worth per message in the binary
 * records of batch-codec.ts.
 */
import type { RateRule } from '../core/rate-limit.ts';
import type { Intervals } from '../core/tracker-core.ts';
import type { AnnounceFactsConfig } from '../facts/open-facts.ts';

/** What a worker needs to build its tracker (everything plain data). */
export interface WorkerConfig {
  port: number;
  host: string;
  redisUrl: string | null;
  redisPrefix: string | null;
  private: boolean;
  accessFile: string | null;
  rateLimit: RateRule | null | undefined;
  intervals: Partial<Intervals> | undefined;
  /** Hex of the UDP connection-id key, the same in every worker. */
  udpSecret: string;
  /** Whether the primary wants the raw announce observations (an observer of its own). */
  observe: boolean;
  /**
   * The worker publishes announce facts: to JetStream itself, or to the primary's embedded
   * stream through the relay (when `stream.natsUrl` is null). Null: no facts.
   */
  facts: AnnounceFactsConfig | null;
  /** The swarm partition this worker owns (0..partitions-1); a replacement takes over its index. */
  partition: number;
  partitions: number;
  /** Directory of the workers' store sockets: `<dir>/<partition>.sock` (store-link.ts). */
  linkDir: string;
}

export const storeSocketPath = (dir: string, partition: number): string => `${dir}/${partition}.sock`;

/** A batch of a worker's facts, laid out, for the primary to append to its embedded stream. */
export interface FactRecords {
  t: 'records';
  /** The worker's number for the batch, echoed in `appended`. */
  id: number;
  count: number;
  /** The records as the embedded stream writes them (encodeStreamRecords). */
  records: Uint8Array;
}

export type WorkerMessage =
  | { t: 'ready'; port: number }
  /** This worker's announce observations, batch-codec.ts records (only when `observe`). */
  | { t: 'batch'; facts: Buffer }
  | FactRecords;

export type PrimaryMessage =
  /** Whether the records of batch `id` are durable in the stream (false: publish again). */
  { t: 'appended'; id: number; ok: boolean } | { t: 'close' };

export const workerConfigEnv = 'SWARMCAST_TRACKER_WORKER';

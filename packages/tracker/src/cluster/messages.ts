/**
 * What the primary and the tracker workers say to each other over the cluster IPC channel
 * (advanced serialization: a Buffer passes as one copy). Announces never pass here: a
 * worker sends one for another worker's swarm straight to that worker (store-link.ts).
 * The primary gets only the announce observations, 10 ms worth per message in the binary
 * records of batch-codec.ts, for the one fact publisher it owns.
 */
import type { RateRule } from '../core/rate-limit.ts';
import type { Intervals } from '../core/tracker-core.ts';

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
  /** Whether the primary wants announce observations (it publishes the facts). */
  facts: boolean;
  /** The swarm partition this worker owns (0..partitions-1); a replacement takes over its index. */
  partition: number;
  partitions: number;
  /** Directory of the workers' store sockets: `<dir>/<partition>.sock` (store-link.ts). */
  linkDir: string;
}

export const storeSocketPath = (dir: string, partition: number): string => `${dir}/${partition}.sock`;

export type WorkerMessage =
  | { t: 'ready'; port: number }
  /** This worker's announce observations (facts), batch-codec.ts records. */
  | { t: 'batch'; facts: Buffer };

export type PrimaryMessage =
  /** The fact publisher's counters, so every worker's /metrics shows them. */
  { t: 'facts'; published: number; dropped: number; failedBatches: number } | { t: 'close' };

export const workerConfigEnv = 'SWARMCAST_TRACKER_WORKER';

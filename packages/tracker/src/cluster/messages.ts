/**
 * What the primary and the tracker workers say to each other over the cluster IPC channel
 * (advanced serialization: a Buffer passes as one copy). Every message carries 10 ms worth
 * of announces in the binary records of batch-codec.ts, so the
 * channel costs one message per batch, not per announce.
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
}

export type WorkerMessage =
  | { t: 'ready'; port: number }
  /** This worker's accepted announces (for the others' stores) and observations (facts). */
  | { t: 'batch'; store: Buffer | null; facts: Buffer | null };

export type PrimaryMessage =
  /** Another worker's announces, to apply to this worker's copy of the swarms. */
  | { t: 'apply'; store: Buffer }
  /** The fact publisher's counters, so every worker's /metrics shows them. */
  | { t: 'facts'; published: number; dropped: number; failedBatches: number }
  | { t: 'close' };

export const workerConfigEnv = 'SWARMCAST_TRACKER_WORKER';

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
  /**
   * A replacement for a worker that died: wait for the primary's `snapshot` (another
   * worker's copy of the swarms) before serving, so its first answers are complete.
   */
  awaitSnapshot: boolean;
}

export type WorkerMessage =
  | { t: 'ready'; port: number }
  /** This worker's accepted announces (for the others' stores) and observations (facts). */
  | { t: 'batch'; store: Buffer | null; facts: Buffer | null }
  /** A replacement, listening for messages now: it wants a live worker's swarms. */
  | { t: 'want-snapshot' }
  /** This worker's whole copy of the swarms, asked for by `dump`, for worker `to`. */
  | { t: 'snapshot'; to: number; store: Buffer };

export type PrimaryMessage =
  /** Another worker's announces, to apply to this worker's copy of the swarms. */
  | { t: 'apply'; store: Buffer }
  /** The fact publisher's counters, so every worker's /metrics shows them. */
  | { t: 'facts'; published: number; dropped: number; failedBatches: number }
  | { t: 'close' }
  /** Send a `snapshot` of your swarms for worker `to`. */
  | { t: 'dump'; to: number }
  /** A live worker's copy of the swarms: apply it, then start serving. */
  | { t: 'snapshot'; store: Buffer | null };

export const workerConfigEnv = 'SWARMCAST_TRACKER_WORKER';

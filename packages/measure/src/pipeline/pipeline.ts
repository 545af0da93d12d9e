import { impressionPrice, Ledger } from '@swarmcast/ledger';
import type { Consumer, Db, EventStream } from '@swarmcast/platform';
import type { EpisodeMedia } from '../rules/episode-media.ts';
import { judgeExpiredHolds } from './held-beacons.ts';
import { deliveryOf, enqueueDelivery, flushOutbox } from './outbox.ts';
import { type BatchResult, lockDecision, type PipelineOptions, processBatch } from './process-batch.ts';

/** The consumer group every measurement pipeline process joins (they share the work). */
export const pipelineGroup = 'measure-pipeline';

export interface PipelineStats {
  batches: number;
  totals: BatchResult;
  /** Batches that failed (and were left for redelivery), and the last error. */
  failures: number;
  lastError: string | null;
}

/**
 * Runs the pipeline as a member of the stream's consumer group: each batch is processed in
 * one transaction and acknowledged only after it commits, so a crash redelivers it and the
 * id gate makes the replay harmless. Returns the consumer (its `pending()` is the lag).
 */
export async function startPipeline(
  stream: EventStream,
  db: Db,
  options: PipelineOptions & {
    batchSize?: number;
    signal?: AbortSignal;
    onError?: (err: unknown) => void;
    /**
     * How often waiting measured deliveries are published besides after each batch, and held
     * beacons past their hold judged (default 5 s).
     */
    outboxFlushMs?: number;
  },
): Promise<{ consumer: Consumer; stats: PipelineStats }> {
  const stats: PipelineStats = {
    batches: 0,
    totals: { processed: 0, redelivered: 0, impressionsCharged: 0, refunds: 0, held: 0, released: 0 },
    failures: 0,
    lastError: null,
  };
  // Measured delivery goes to the ad server after the batch commits (outbox.ts); a failed
  // flush is retried by the next batch and by the timer (invalidations write rows too).
  let flushing: Promise<void> | null = null;
  const flush = (): Promise<void> => {
    flushing ??= flushOutbox(db, stream)
      .then(() => undefined)
      .catch((err: unknown) => {
        stats.lastError = String(err);
        options.onError?.(err);
      })
      .finally(() => {
        flushing = null;
      });
    return flushing;
  };
  // Held beacons whose hold passed with nothing else of their decision or play session coming
  // are judged (out of order) by this sweep, on the same timer; one sweep at a time per
  // process, and one process at a time (the others' sweeps return 0 at once).
  let sweeping: Promise<void> | null = null;
  const sweep = (): Promise<void> => {
    sweeping ??= (async () => {
      // 200 decisions a transaction; up to 10 a tick, so a backlog of expired holds drains.
      for (let round = 0; round < 10; round++) {
        const n = await db.transaction((tx) => judgeExpiredHolds(tx, options));
        stats.totals.released += n;
        if (n === 0) break;
      }
    })()
      .catch((err: unknown) => {
        stats.lastError = String(err);
        options.onError?.(err);
      })
      .finally(() => {
        sweeping = null;
      });
    return sweeping;
  };
  await flush();
  await sweep();
  const timer = setInterval(() => {
    void flush();
    void sweep();
  }, options.outboxFlushMs ?? 5000);
  timer.unref();
  options.signal?.addEventListener('abort', () => clearInterval(timer));
  const inner = await stream.consume(
    pipelineGroup,
    async (events) => {
      let r: BatchResult;
      try {
        r = await db.transaction((tx) => processBatch(tx, events, options));
      } catch (err) {
        // Left unacknowledged: the stream redelivers the batch, and the admin page shows why.
        stats.failures++;
        stats.lastError = String(err);
        options.onError?.(err);
        throw err;
      }
      stats.batches++;
      for (const k of Object.keys(r) as (keyof BatchResult)[]) stats.totals[k] += r[k];
      if (r.impressionsCharged > 0 || r.refunds > 0) await flush();
    },
    {
      // 100: with JetStream, a larger batch than one pull delivers at once can stall the
      // platform's consumer (see notes/measure.md); 100 keeps a transaction short anyway.
      batchSize: options.batchSize ?? 100,
      subjects: ['beacon.', 'fact.', 'ads.'],
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
  const consumer: Consumer = {
    pending: () => inner.pending(),
    async stop() {
      clearInterval(timer);
      await inner.stop();
      await flushing;
      await sweeping;
    },
  };
  return { consumer, stats };
}

/**
 * Registers (or updates) a published episode file so downloads, torrents and plays can be
 * attributed to it. The catalog calls this on publish (or a test inserts through it).
 */
export async function registerEpisode(
  db: Db,
  e: EpisodeMedia & {
    title?: string;
    /** The episode's other torrent identities (truncated v2 hash, v1-only companion), 40 hex. */
    otherInfoHashes?: readonly string[];
  },
): Promise<void> {
  const hashes = [e.infoHash, ...(e.otherInfoHashes ?? [])].filter(
    (h): h is string => typeof h === 'string' && /^[0-9a-f]{40}$/.test(h),
  );
  if (hashes.length > 0) {
    await db.query(
      `INSERT INTO measure_episode_hashes (info_hash, episode_id) SELECT h, $2 FROM unnest($1::text[]) AS h
       ON CONFLICT (info_hash) DO UPDATE SET episode_id = EXCLUDED.episode_id`,
      [[...new Set(hashes)], e.episodeId],
    );
  }
  await db.query(
    `INSERT INTO measure_episodes (episode_id, show_id, creator_id, title, path, info_hash, file_size, header_bytes, duration_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (episode_id) DO UPDATE SET show_id = EXCLUDED.show_id, creator_id = EXCLUDED.creator_id,
       title = EXCLUDED.title, path = EXCLUDED.path, info_hash = EXCLUDED.info_hash, file_size = EXCLUDED.file_size,
       header_bytes = EXCLUDED.header_bytes, duration_ms = EXCLUDED.duration_ms`,
    [
      e.episodeId,
      e.showId,
      e.creatorId,
      e.title ?? '',
      e.path,
      e.infoHash,
      e.fileSize,
      e.headerBytes,
      e.durationMs,
    ],
  );
}

/**
 * Judges a decision invalid after the fact (an operator's finding, a later fraud signal):
 * its beacons stop counting and its charged impression, if any, is refunded. Idempotent.
 */
export async function invalidateDecision(
  db: Db,
  decisionId: string,
  reason: string,
  time: number,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    // A consumer judging this decision's beacons right now would overwrite the mark.
    await lockDecision(tx, decisionId);
    const r = await tx.query(
      'UPDATE measure_decisions SET invalid = $2 WHERE decision_id = $1 AND invalid IS NULL',
      [decisionId, reason],
    );
    const refund = await new Ledger(tx).refundImpression(decisionId, time);
    if (refund.ok && refund.written) {
      // The ad server gives the budget back (published by the pipeline's next outbox flush).
      const d = await tx.query<{
        line_item_id: string;
        campaign_id: string;
        advertiser_id: string;
        listener_id: string | null;
        issued_at: number | null;
        impression_at: number | null;
        cpm_micros: number;
      }>(
        'SELECT line_item_id, campaign_id, advertiser_id, listener_id, issued_at, impression_at, cpm_micros FROM measure_decisions WHERE decision_id = $1',
        [decisionId],
      );
      const row = d.rows[0];
      if (row) {
        const cpm = Number(row.cpm_micros);
        await enqueueDelivery(
          tx,
          deliveryOf(
            'refunded',
            {
              decisionId,
              lineItemId: row.line_item_id,
              campaignId: row.campaign_id,
              advertiserId: row.advertiser_id,
              listenerId: row.listener_id,
              issuedAt: Number(row.issued_at ?? row.impression_at ?? time),
              cpmMicros: cpm,
            },
            time,
            impressionPrice(cpm),
          ),
        );
      }
    }
    return r.affectedRows > 0 || (refund.ok && refund.written);
  });
}

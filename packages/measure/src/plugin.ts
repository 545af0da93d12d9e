import type { PublicKeys, SigningKey } from '@swarmcast/ads';
import type { BasisPoints } from '@swarmcast/ledger';
import {
  type Clock,
  type Consumer,
  type Db,
  type EventStream,
  systemClock,
  type ViewerOf,
} from '@swarmcast/platform';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type CollectorStats, collectorRoutes, type EdgeClassifier } from './collect/collector.ts';
import { type SettleResult, settleDeliveries } from './pipeline/deliveries.ts';
import { type PipelineStats, startPipeline } from './pipeline/pipeline.ts';
import { Reports } from './reports/reports.ts';
import {
  denyAllReports,
  type ReportAuthorizer,
  type ReportPresentation,
  reportRoutes,
} from './reports/routes.ts';
import type { AdTimingRules } from './rules/ad-sequence.ts';
import type { IvtRules } from './rules/ivt.ts';
import { statementRoutes } from './statements/routes.ts';

export interface MeasureDeps {
  /** Migrated with `[...ledgerMigrations, ...measureMigrations]` (after lower parts'). */
  db: Db;
  stream: EventStream;
  /** Edge classification: audience key (daily salted HMAC), client class, data-centre flag. */
  edge: EdgeClassifier;
  /** The ad server's decision-signing public keys (called per batch; keys rotate). */
  publicKeys: () => PublicKeys;
  /**
   * The key that signs daily statements. The operator keeps it outside the database (env or a
   * 0600 file, shared by every process of the node); only its public half is stored.
   */
  statementKey: SigningKey;
  clock?: Clock;
  /** Creator share of ad revenue in basis points (default 7000 = 70 %). */
  creatorShareBps?: BasisPoints;
  /** Run the pipeline consumer in this process (default true); several processes share the work. */
  runPipeline?: boolean;
  /**
   * Who may read which report. The portal passes its session and API-token check; the
   * default refuses every report request (401).
   */
  authorize?: ReportAuthorizer;
  /** The logged-in account for the site header of report pages. */
  viewer?: ViewerOf<FastifyRequest>;
  /** Names for ids and the currency on report pages. */
  present?: ReportPresentation;
  /** Suppression threshold (default 5). */
  k?: number;
  ivtRules?: IvtRules;
  adTiming?: AdTimingRules;
  maxPending?: number;
  /** How often server-side ad deliveries are settled and billed (default 30 s; 0: only on demand). */
  settleDeliveriesMs?: number;
}

/** Handles the plugin exposes on the Fastify instance as `app.measure`. */
export interface MeasureHandle {
  collector: CollectorStats;
  pipeline: PipelineStats | null;
  lag(): Promise<number>;
  /** Counts and bills server-side ad deliveries now (also run on a timer with the pipeline). */
  settleDeliveries(): Promise<SettleResult>;
}

/**
 * Measurement as one Fastify plugin: the beacon collector, the report API and dashboard
 * pages; and, unless `runPipeline` is false, the pipeline consumer, started when the
 * server is ready and stopped (after in-flight beacons are durable) when it closes.
 * Register it without encapsulation concerns: `await measurePlugin(app, deps)`.
 */
export async function measurePlugin(app: FastifyInstance, deps: MeasureDeps): Promise<MeasureHandle> {
  const clock = deps.clock ?? systemClock;
  const collector = collectorRoutes(app, {
    stream: deps.stream,
    edge: deps.edge,
    clock,
    ...(deps.maxPending ? { maxPending: deps.maxPending } : {}),
  });
  let consumer: Consumer | null = null;
  const handle: MeasureHandle = {
    collector: collector.stats,
    pipeline: null,
    lag: async () => (consumer ? consumer.pending() : 0),
    // One settle at a time: a rerun while one is running waits for it and then runs again.
    settleDeliveries: () => {
      const next = settling.then(() =>
        settleDeliveries(deps.db, {
          publicKeys: deps.publicKeys,
          now: clock.now(),
          ...(deps.creatorShareBps !== undefined ? { creatorShareBps: deps.creatorShareBps } : {}),
        }),
      );
      settling = next.then(
        () => {},
        () => {},
      );
      return next;
    },
  };
  let settling: Promise<void> = Promise.resolve();
  let settleTimer: ReturnType<typeof setInterval> | undefined;
  const reports = new Reports(deps.db, {
    ...(deps.k ? { k: deps.k } : {}),
    lag: () => handle.lag(),
    collectorStats: () => collector.stats,
  });
  reportRoutes(app, reports, clock, deps.authorize, deps.viewer, deps.present);
  statementRoutes(
    app,
    deps.db,
    deps.statementKey,
    clock,
    deps.authorize ?? denyAllReports,
    deps.present?.currency,
  );

  if (deps.runPipeline !== false) {
    app.addHook('onReady', async () => {
      const started = await startPipeline(deps.stream, deps.db, {
        publicKeys: deps.publicKeys,
        clock,
        ...(deps.creatorShareBps !== undefined ? { creatorShareBps: deps.creatorShareBps } : {}),
        ...(deps.ivtRules ? { ivtRules: deps.ivtRules } : {}),
        ...(deps.adTiming ? { adTiming: deps.adTiming } : {}),
      });
      consumer = started.consumer;
      handle.pipeline = started.stats;
      const every = deps.settleDeliveriesMs ?? 30_000;
      if (every > 0) {
        settleTimer = setInterval(() => {
          handle
            .settleDeliveries()
            .catch((err: unknown) => app.log.error({ err }, 'settling ad deliveries failed'));
        }, every);
        settleTimer.unref();
      }
    });
  }
  app.addHook('onClose', async () => {
    if (settleTimer) clearInterval(settleTimer);
    await settling;
    await collector.close();
    await consumer?.stop();
  });
  return handle;
}

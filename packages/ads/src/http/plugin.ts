/**
 * `adsPlugin(app, deps)`: the ad server as one Fastify plugin. Mount it with
 * `app.register(adsPlugin, deps)`; it adds `/ads/vast`, `/ads/vmap`, `/ads/keys`, the
 * advertiser API under `/ads/api`, media under `/ads/media` and pages under `/ads/dashboard`.
 * Nothing starts in the background; all state is in `deps.store` (created if absent).
 */
import { randomUUID } from 'node:crypto';
import type { Clock, Consumer, Db, EventStream, ViewerOf } from '@swarmcast/platform';
import { Ajv } from 'ajv';
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { creativeTorrentPublisher } from '../creative-torrent.ts';
import { presentCreative } from '../creative-urls.ts';
import type { EpisodeLookup } from '../decide.ts';
import { AdsFailure, adsError, adsErrors } from '../errors.ts';
import { MeasuredFeedback } from '../measured-feedback.ts';
import { OpportunityPublisher } from '../opportunities.ts';
import type { PaceSettings } from '../pacing.ts';
import { saveDecisionHours, saveDelivery } from '../persistence.ts';
import type { SharedDelivery } from '../shared-delivery.ts';
import { sharedFigures } from '../shared-report.ts';
import type { KeyRing } from '../signing-keys.ts';
import { AdsStore, defaultReservationMs } from '../store.ts';
import type { AdsAuth } from './access.ts';
import { advertiserApi } from './advertiser-api.ts';
import type { AdsContext, PublishCreative, ShowLookup } from './context.ts';
import { creativeRoutes } from './creative-routes.ts';
import { dashboardRoutes } from './dashboard.ts';
import { decisionRoutes } from './decision-routes.ts';
import { h, page } from './html.ts';

export interface AdsPluginDeps {
  /** Creatives the stitcher could not prepare for an episode's encoding (shown on the creatives page). */
  stitchFailures?: () => ReadonlyArray<{ creativeId: string; profileKey: string; reason: string }>;
  /** The catalog port: episode id -> what the ad server needs, or null. */
  episodes: EpisodeLookup;
  /** The catalog port for targeting by name: the shows an advertiser may target. */
  shows?: ShowLookup;
  /** The signing keys; a function so the node can rotate them while running. */
  keys: () => KeyRing;
  clock: Clock;
  /**
   * Public base URL of this node, e.g. "https://node.example" (VMAP tag and media URLs). A
   * function when the node learns it only once listening (port 0); read per request.
   */
  publicUrl: string | (() => string);
  /** Base URL of the beacon collector; default publicUrl. */
  collectorUrl?: string | (() => string);
  /** Where uploaded creatives are stored. */
  mediaDir: string;
  /** Bearer token for admin actions (creative approval). Empty disables them. */
  adminToken: string;
  /**
   * The catalog account behind a request (its session cookie or API token), injected by the
   * node. Advertiser accounts see and change only their own advertisers and what hangs off
   * them; admin accounts everything. Without it only the admin token gets in.
   */
  auth?: AdsAuth;
  /** Log-in page for the dashboard's 401 (default "/login"). */
  loginUrl?: string;
  /** The logged-in account for the site header (name and role); absent: an anonymous header. */
  viewer?: ViewerOf<FastifyRequest>;
  /**
   * The measurement stream: one `ads.opportunity` event per break request (known episode
   * and break, filled or not) for fill rate. Published in batches, never awaited by a decision.
   */
  stream?: EventStream;
  store?: AdsStore;
  /** Header the operator's proxy sets with the listener's country; default "x-swarmcast-country". */
  countryHeader?: string;
  /** Default 50 MB. */
  maxCreativeBytes?: number;
  /** Lifetime of decision tokens; default 6 hours. */
  tokenTtlMs?: number;
  newId?: () => string;
  /**
   * Publishes uploaded creatives as torrents (web seed = our media URL). Default: a v1
   * torrent made with @swarmcast/bittorrent announcing to `announce`; `false` turns it off.
   */
  publishCreative?: PublishCreative | false;
  /** Tracker announce URLs for creative torrents (default none: web seed only). */
  announce?: readonly string[];
  pace?: PaceSettings;
  /**
   * Frequency caps and line-item delivery shared by every ad server process of the network
   * (`redisSharedDelivery`); absent: this process's store alone (one process).
   */
  sharedDelivery?: SharedDelivery;
  /**
   * Called after every change to the model written through the API (the node tells its other
   * processes, which reload the model with `loadModel`).
   */
  onModelChanged?: () => void;
  /**
   * Consume measured delivery (`delivery.measured`) from `stream` (default true when a
   * stream is given): budgets, pacing and caps then run on it. `false` when another
   * process of the node owns the ad server's store.
   */
  measuredFeedback?: boolean;
  /**
   * When given (migrated with `adsMigrations`), API changes are written through and delivery
   * counters are flushed on close; load the store with `loadStore(db, now)` and pass it as
   * `store`. The node may also call `saveDelivery(db, store, clock.now())` on its own interval.
   */
  db?: Db;
  /**
   * With `db` and `sharedDelivery` (N processes): how often this process's decision counts
   * are added to the stored hours, which every process's report reads (default 2000 ms).
   */
  decisionFlushMs?: number;
}

export async function adsPlugin(app: FastifyInstance, deps: AdsPluginDeps): Promise<void> {
  const store = deps.store ?? new AdsStore();
  store.reservationMs = deps.tokenTtlMs ?? defaultReservationMs;
  const resolve = (u: string | (() => string)) => (typeof u === 'string' ? u : u()).replace(/\/+$/, '');
  const publicUrl = () => resolve(deps.publicUrl);
  const collector = () => resolve(deps.collectorUrl ?? deps.publicUrl);
  const newId = deps.newId ?? (() => randomUUID());
  const version = '0.1.0';
  const ctx: AdsContext = {
    store,
    episodes: deps.episodes,
    shows: deps.shows ?? (async () => []),
    keys: deps.keys,
    clock: deps.clock,
    get publicUrl() {
      return publicUrl();
    },
    get collector() {
      return collector();
    },
    countryHeader: (deps.countryHeader ?? 'x-swarmcast-country').toLowerCase(),
    adminToken: deps.adminToken,
    mediaDir: deps.mediaDir,
    maxCreativeBytes: deps.maxCreativeBytes ?? 50 * 1024 * 1024,
    newId,
    version,
    publishCreative:
      deps.publishCreative === false
        ? undefined
        : (deps.publishCreative ?? creativeTorrentPublisher({ announce: deps.announce ?? [] })),
    db: deps.db,
    ...(deps.onModelChanged ? { modelChanged: deps.onModelChanged } : {}),
    auth: deps.auth,
    loginUrl: deps.loginUrl ?? '/login',
    viewer: deps.viewer ?? (async () => null),
    present: (c) => presentCreative(c, publicUrl()),
    // N processes (shared delivery): every process reports what all of them delivered; one
    // process: its store has it all.
    figures: async (campaignIds) => {
      if (!deps.db || !deps.sharedDelivery) return store;
      const ids = [...store.lineItems.values()]
        .filter((li) => campaignIds.includes(li.campaignId))
        .map((li) => li.id);
      return sharedFigures(deps.db, store, ids, deps.clock.now(), deps.sharedDelivery);
    },
    ...(deps.stitchFailures ? { stitchFailures: deps.stitchFailures } : {}),
    decide: {
      store,
      signingKey: () => deps.keys().active,
      present: (c) => presentCreative(c, publicUrl()),
      get collector() {
        return collector();
      },
      newId,
      tokenTtlMs: deps.tokenTtlMs ?? defaultReservationMs,
      adSystemVersion: version,
      pace: deps.pace,
      ...(deps.sharedDelivery ? { shared: deps.sharedDelivery } : {}),
    },
  };
  // Unknown JSON fields are refused (400), not silently dropped as Fastify's default does.
  const ajv = new Ajv({ removeAdditional: false, coerceTypes: false, allErrors: false });
  app.setValidatorCompiler(({ schema }) => ajv.compile(schema));
  app.setErrorHandler((err: FastifyError, req, reply) => {
    // A coded failure (the shared counters out of reach): its status and what to do, for the
    // operator reading the page or the API's answer; the cause only in the log.
    if (err instanceof AdsFailure) {
      const { status, message } = adsErrors[err.code];
      req.log.warn({ code: err.code, err: err.cause }, message);
      reply.code(status).header('retry-after', '5');
      if (!req.url.startsWith('/ads/dashboard')) return reply.send(adsError(err.code));
      return reply
        .type('text/html; charset=utf-8')
        .send(
          page(
            'Ads unavailable',
            `<h1>Delivery cannot be shown right now</h1><p>${h(message)}.</p><p><code>${h(err.code)}</code></p>`,
          ),
        );
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413) {
      return reply.code(413).send(adsError('ADS_CREATIVE_TOO_LARGE'));
    }
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || err.statusCode === 415) {
      return reply
        .code(415)
        .send(adsError('ADS_CREATIVE_NOT_MEDIA', 'Content-Type must be audio/* or video/*'));
    }
    if (err.validation || (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500)) {
      return reply.code(adsErrors.ADS_BAD_REQUEST.status).send(adsError('ADS_BAD_REQUEST', err.message));
    }
    throw err;
  });
  if (deps.stream) {
    const stream = deps.stream;
    const opportunities = new OpportunityPublisher({ stream });
    ctx.opportunities = opportunities;
    app.addHook('onReady', async () => opportunities.start());
    app.addHook('onClose', async () => opportunities.close());
    if (deps.measuredFeedback !== false) {
      // Budgets, pacing and caps run on measured delivery, fed back on the same stream.
      const feedback = new MeasuredFeedback(store, deps.db, deps.sharedDelivery, deps.clock);
      ctx.feedback = feedback;
      let consumer: Consumer | null = null;
      app.addHook('onReady', async () => {
        consumer = await feedback.start(stream);
      });
      app.addHook('onClose', async () => {
        await consumer?.stop();
      });
    }
  }
  if (deps.db) {
    const db = deps.db;
    // N processes: each one's decisions reach the others' reports within seconds (the
    // node's full delivery flush, caps and inventory too, runs every minute).
    let flush: ReturnType<typeof setInterval> | undefined;
    if (deps.sharedDelivery) {
      app.addHook('onReady', async () => {
        flush = setInterval(() => {
          saveDecisionHours(db, store).catch((err: unknown) =>
            app.log.error({ err }, 'ads decision counts flush failed'),
          );
        }, deps.decisionFlushMs ?? 2000);
        flush.unref();
      });
    }
    app.addHook('onClose', async () => {
      if (flush) clearInterval(flush);
      await saveDelivery(db, store, deps.clock.now());
    });
  }
  decisionRoutes(app, ctx);
  advertiserApi(app, ctx);
  creativeRoutes(app, ctx);
  dashboardRoutes(app, ctx);
}

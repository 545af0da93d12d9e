import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DhtNode } from '@swarmcast/bittorrent/node';
import type { CatalogContext, PageViewRecorder } from '@swarmcast/catalog';
import { faviconSvg, messagePage, wantsHtml } from '@swarmcast/platform';
import { buildPlayerBundle, buildServiceWorkerBundle } from '@swarmcast/player/build';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { apiRoutes } from './api/routes.ts';
import { whoIs } from './auth.ts';
import { accountRoutes } from './dashboard/account-routes.ts';
import { adminRoutes } from './dashboard/admin-routes.ts';
import { type DaiView, daiRoutes, noDai } from './dashboard/dai-section.ts';
import { episodeExtrasRoutes } from './dashboard/episode-extras.ts';
import { parseForm } from './dashboard/form.ts';
import { dashboardRoutes } from './dashboard/routes.ts';
import { scheduleRoutes } from './dashboard/schedule.ts';
import { installErrorHandler } from './http-errors.ts';
import { importRoutes } from './imports/routes.ts';
import { startGoLive } from './node/go-live.ts';
import { processSharedState, type SharedState } from './node/shared-state.ts';
import { embedRoutes } from './portal/embed.ts';
import { ReadCache } from './portal/read-cache.ts';
import { portalRoutes } from './portal/routes.ts';
import { installTextGuard } from './text-guard.ts';
import { siteUrls } from './urls.ts';
import { webSubHub } from './websub/hub.ts';
import { type MutableShows, mutableShowPublisher } from './websub/mutable-show.ts';
import { feedNotifier } from './websub/notify.ts';
import { type PodpingConfig, podpingFromEnv } from './websub/podping.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** BEP 46 show publishing, when the node runs a DHT. */
    mutableShows: MutableShows | null;
  }
}

/** Levels of `--log-level` (pino's). */
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof logLevels)[number];

/** What `swarmcast up` hands the web server: the node's shared pieces. */
export interface NodeServerOptions {
  catalog: CatalogContext;
  /**
   * Fastify's logger (pino, JSON lines on stderr): off when false or absent (tests), else at
   * this level. One line per request at info (method, path, status, time; never the address,
   * user agent or query string), errors with their code.
   */
  logLevel?: LogLevel | false;
  /** How long the portal may show a cached read (default 5 s; writes here clear it at once). */
  portalCacheMs?: number;
  /**
   * Where episode page views go (the catalog's `streamPageViews` on the node's event stream);
   * each page is sent once its view is durable. Absent: views are not counted (a server
   * without a stream, in tests).
   */
  pageViews?: PageViewRecorder;
  /** True when the node serves stitched enclosures at /dai (feeds then point there). */
  daiMounted?: () => boolean;
  /** The stitcher as the creator's dashboard sees it (status per episode, the switch). */
  daiView?: DaiView;
  /** A started DHT node: shows are then also published as BEP 46 mutable torrents. */
  dht?: DhtNode | null;
  /** Podping endpoint (default from SWARMCAST_PODPING_URL/_TOKEN; null: off). */
  podping?: PodpingConfig | null;
  /** Told after each WebSub/Podping notice (tests, logs). */
  onFeedNotice?: (
    slug: string,
    r: { websub: { delivered: number; failed: number }; podping: boolean | null },
  ) => void;
  /**
   * Reverse proxies whose X-Forwarded-For / Forwarded headers are believed (platform's
   * parseTrustedProxies); empty or absent: nobody's, every address is the socket's. What
   * Fastify then reports as `req.ip` is what downloads, beacons and rate limits count.
   */
  trustProxy?: string[];
  /**
   * State every web process of the network shares (rate limits, log-in failures, portal
   * cache drops): Redis when the node has REDIS_URL; default this process only.
   */
  shared?: SharedState;
}

/**
 * The one Fastify server of a node: portal, dashboards, API and the other parts' plugins
 * mounted on it. Nothing listens until the caller calls `listen()`.
 */
export async function createNodeServer(opts: NodeServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logLevel
      ? {
          level: opts.logLevel,
          stream: process.stderr,
          // Fastify's default request serializer carries the client address and host; a
          // request line here has only what the onResponse hook writes.
          serializers: { req: () => ({}), res: () => ({}) },
        }
      : false,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1_000_000,
    trustProxy: opts.trustProxy?.length ? opts.trustProxy : false,
  });
  app.addHook('onResponse', async (req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    req.log.info(
      {
        method: req.method,
        path: path.slice(0, 200),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 100_000 },
    (_req, body, done) => done(null, parseForm(body as string)),
  );
  installErrorHandler(app);
  installTextGuard(app);
  const ctx = opts.catalog;
  const urls = siteUrls(ctx.publicUrl);
  const dashboardJs = await readFile(join(import.meta.dirname, 'assets', 'dashboard.js'));

  app.addHook('onSend', async (req, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'same-origin');
    // Only the embed page may be framed by other sites (it says so with frame-ancestors).
    const embeddable = (req.routeOptions.config as { embeddable?: boolean } | undefined)?.embeddable === true;
    if (!embeddable && String(reply.getHeader('content-type') ?? '').startsWith('text/html')) {
      reply.header('x-frame-options', 'DENY');
    }
  });
  app.get('/assets/dashboard.js', async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').send(dashboardJs),
  );
  // The player bundle is built once, on first request, so a node that nobody visits pays nothing.
  let playerJs: Promise<string> | null = null;
  app.get('/assets/player.js', async (_req, reply) => {
    playerJs ??= buildPlayerBundle();
    return reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=300')
      .send(await playerJs);
  });
  // The player's Service Worker answers the media element from the in-page swarm engine; it
  // must control episode pages, hence scope "/" (allowed by the header).
  let playerSw: Promise<string> | null = null;
  app.get('/assets/player-sw.js', async (_req, reply) => {
    playerSw ??= buildServiceWorkerBundle();
    return reply
      .type('text/javascript; charset=utf-8')
      .header('service-worker-allowed', '/')
      .header('cache-control', 'no-cache')
      .send(await playerSw);
  });
  app.get('/healthz', async () => ({ ok: true }));
  // A browser that opens a JSON address (the catalog's, the ads' or measurement's API)
  // without a session gets the site's log-in page, not {"code":...}; scripts, which do not
  // ask for text/html, keep the coded JSON. Added on the root, so every part's routes get it.
  app.addHook('onSend', async (req, reply, payload) => {
    if (reply.statusCode !== 401 || (req.method !== 'GET' && req.method !== 'HEAD')) return payload;
    if (!wantsHtml(req.headers.accept)) return payload;
    if (!String(reply.getHeader('content-type') ?? '').startsWith('application/json')) return payload;
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
    return messagePage(401, { what: 'This address', returnTo: req.url });
  });
  // Browsers ask for /favicon.ico whatever the page says; answer with the site's mark.
  for (const path of ['/favicon.svg', '/favicon.ico']) {
    app.get(path, async (_req, reply) =>
      reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').send(faviconSvg),
    );
  }
  // A browser that follows a dead link gets the site's 404 page; scripts keep Fastify's JSON.
  app.setNotFoundHandler(async (req, reply) => {
    if (wantsHtml(req.headers.accept)) {
      return reply
        .code(404)
        .type('text/html; charset=utf-8')
        .send(messagePage(404, { viewer: await whoIs(ctx, req).catch(() => null) }));
    }
    return reply
      .code(404)
      .send({ message: `Route ${req.method}:${req.url} not found`, error: 'Not Found', statusCode: 404 });
  });
  const cache = new ReadCache({ ttlMs: opts.portalCacheMs ?? 5000, maxEntries: 1000 });
  const shared = opts.shared ?? processSharedState();
  // A write through another process drops this one's cache too (within a Redis round trip),
  // so the TTL bounds only counters' staleness, not a creator's edit.
  const cacheDrops = await shared.signal('portal-cache', () => cache.invalidate());
  app.addHook('onClose', async () => cacheDrops.close());
  const dropCache = () => {
    cache.invalidate();
    cacheDrops.send();
  };
  // Every write of shows and episodes arrives as a non-GET request under /api/ or
  // /dashboard/ (the CLI publishes through the API too); after one succeeds, the portal's
  // cached reads are dropped, before the answer leaves, so the change is visible on the
  // next page load.
  app.addHook('onSend', async (req, reply, payload) => {
    const write = req.method !== 'GET' && req.method !== 'HEAD' && reply.statusCode < 400;
    if (write && (req.url.startsWith('/api/') || req.url.startsWith('/dashboard/'))) dropCache();
    return payload;
  });
  // Feed changes that arrive without a request (an import running on, a scheduled episode
  // going live) drop the cache too; whoever set onFeedChange before (the node's notifiers)
  // is still called.
  const notify = ctx.onFeedChange;
  const mutable = opts.dht ? mutableShowPublisher({ app, ctx, dht: opts.dht }) : null;
  // The node calls refreshAll once its seeder runs (a restart seeds no index torrent otherwise).
  app.decorate('mutableShows', mutable);
  const notifier = feedNotifier({
    hub: webSubHub(app, ctx, urls),
    urls,
    podping: opts.podping === undefined ? podpingFromEnv(process.env) : opts.podping,
    mutable: mutable ? (slug) => mutable.publish(slug) : null,
    ...(opts.onFeedNotice ? { onSent: opts.onFeedNotice } : {}),
    onError: (err) => app.log.warn({ err }, 'feed notice failed'),
  });
  app.addHook('onClose', async () => {
    notifier.close();
    mutable?.close();
    await opts.dht?.close();
  });
  ctx.onFeedChange = (slug) => {
    dropCache();
    notifier.changed(slug);
    notify?.(slug);
  };
  const goLive = startGoLive(ctx);
  app.addHook('onClose', async () => goLive.stop());
  portalRoutes(app, ctx, urls, {
    cache,
    views: opts.pageViews ?? null,
    daiMounted: opts.daiMounted ?? (() => false),
  });
  embedRoutes(app, ctx, urls);
  accountRoutes(app, ctx, () => ctx.publicUrl().startsWith('https:'), undefined, shared);
  const daiView = opts.daiView ?? { ...noDai, mounted: opts.daiMounted ?? (() => false) };
  dashboardRoutes(app, ctx, daiView);
  daiRoutes(app, ctx, daiView);
  adminRoutes(app, ctx);
  apiRoutes(app, ctx);
  importRoutes(app, ctx);
  episodeExtrasRoutes(app, ctx);
  scheduleRoutes(app, ctx);
  return app;
}

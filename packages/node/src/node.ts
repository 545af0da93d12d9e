import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DhtNode } from '@swarmcast/bittorrent/node';
import {
  type CatalogContext,
  catalogMigrations,
  makeHybridTorrent,
  recoverPublishing,
  seedDemo,
} from '@swarmcast/catalog';
import { type Mp3Profile, prepareAd } from '@swarmcast/media';
import { type EdgeOptions, enclosurePlugin, originPlugin, streamFactSink } from '@swarmcast/origin';
import {
  type Clock,
  createAudienceKeys,
  type Db,
  defaultEngineNames,
  type EngineNames,
  type EventStream,
  type IceSettings,
  leaseMigrations,
  loadAddressList,
  loadSafeAddresses,
  migrate,
  openDb,
  openEventStream,
  openSaltStore,
  parseIceSettings,
  parseReferrerExclusions,
  privacyMigrations,
  systemClock,
} from '@swarmcast/platform';
import {
  MemorySwarmStore,
  type RateRule,
  RedisSwarmStore,
  sharedUdpSecret,
  startUdpTracker,
  Tracker,
  trackerPlugin,
  type UdpTracker,
} from '@swarmcast/tracker';
import {
  createNodeServer,
  type LogLevel,
  processSharedState,
  redisSharedState,
  refuseTakenDownMedia,
  siteUrls,
} from '@swarmcast/web';
import type { FastifyInstance } from 'fastify';
import { daiChapterRoutes } from './dai-chapters.ts';
import { mediaPort, type PreparedFrames } from './dai-media.ts';
import { iceRoute, iceServersOf } from './ice-route.ts';
import { mountNodeServices, type NodeServices, nodeServiceMigrations } from './node-services.ts';
import { type NodePageViews, startPageViews } from './page-views.ts';
import { type NodeRole, nodeRoles, restrictToRoles } from './roles.ts';

export interface NodeOptions {
  port: number;
  host: string;
  /**
   * The UDP tracker's (and STUN server's) port. Default: the TCP port; with `port: 0` a
   * separate ephemeral UDP port, since the TCP port number picked by the kernel may
   * already be taken on UDP (tests saw EADDRINUSE there).
   */
  udpPort?: number;
  dataDir: string;
  /** PostgreSQL instead of PGlite under the data dir. */
  databaseUrl?: string | undefined;
  /** NATS JetStream for the measurement stream instead of the embedded one. */
  natsUrl?: string | undefined;
  /**
   * Redis for the tracker's swarm state, daily salts and the state every process of the
   * network shares (rate limits, log-in failures, portal cache drops) instead of memory.
   */
  redisUrl?: string | undefined;
  /**
   * Reverse proxies (addresses, CIDR ranges) whose forwarded-for headers are believed
   * (SWARMCAST_TRUST_PROXY); default none.
   */
  trustProxy?: string[];
  /** Names under which Redis and NATS keep this network's data (SWARMCAST_REDIS_PREFIX, ...). */
  engines?: Partial<EngineNames>;
  /** The URL the world reaches this node at; default http://<host>:<port>. */
  publicUrl?: string | undefined;
  /** Publish the demo show on first start (default true). */
  demo?: boolean;
  maxUploadBytes?: number;
  /**
   * Join a DHT through these "host:port" nodes and publish each show there as a BEP 46
   * mutable torrent (default: SWARMCAST_DHT_BOOTSTRAP, comma-separated; unset: no DHT).
   */
  dhtBootstrap?: string[] | null;
  clock?: Clock;
  /** Log level of the node's structured log on stderr; off when absent (tests). */
  logLevel?: LogLevel | false;
  /** How long the portal may show a cached read (default 5 s; writes through any process clear it). */
  portalCacheMs?: number;
  /**
   * Edge lists for measurement (file paths; default from the environment): data-centre
   * ranges (DATACENTER_RANGES), known safe shared addresses with their `# validated:` day
   * (SAFE_ADDRESSES), referrer hosts that are not podcast consumers (REFERRER_EXCLUSIONS).
   */
  datacenterRanges?: string | null;
  safeAddresses?: string | null;
  referrerExclusions?: string | null;
  /**
   * ICE servers for every WebRTC peer the node makes or serves (pages, its seeder); default
   * the node's own STUN server on its UDP port (platform config: SWARMCAST_ICE_SERVERS).
   */
  ice?: IceSettings;
  /**
   * The codec that prepares ads for an episode's encoding profile (dynamic ad insertion);
   * default the media layer's `prepareAd` (npm codecs, no system ffmpeg); null turns
   * stitched enclosures off (every enclosure is the plain file).
   */
  daiPrepare?: ((input: Uint8Array, profile: Mp3Profile) => Promise<PreparedFrames>) | null;
  /** Seed published torrents with the node's own engine, TCP and WebRTC (default true). */
  seed?: boolean;
  /**
   * How long this process's seeding leases last unrenewed: how soon another process sharing
   * the database takes over seeding after this one dies (default 15 s).
   */
  seedLeaseMs?: number;
  /** How often each process re-reads the signing keys file (default 15 s; see node/key-ring.ts). */
  keysReloadMs?: number;
  /**
   * The roles this process runs (`swarmcast up --roles`; default all): it serves only their
   * routes and runs only their background work. See roles.ts and docs/operations.md.
   */
  roles?: Iterable<NodeRole>;
  /** Ad decisions allowed per source address (default `defaultDecisionRate`, 5/s, burst 60). */
  decisionRate?: RateRule;
  /**
   * Routes of the program embedding the node, mounted after the node's own and before it
   * listens, so they pass through the node's hooks (the ad decision bench's reference documents).
   */
  routes?: (app: FastifyInstance) => void;
}

export interface RunningNode {
  url: string;
  /** The UDP tracker's and STUN server's port (see `NodeOptions.udpPort`); null without the tracker role. */
  udpPort: number | null;
  app: FastifyInstance;
  db: Db;
  catalog: CatalogContext;
  /** Ads and measurement (node-services.ts). */
  services: NodeServices;
  close(): Promise<void>;
}

/**
 * One whole node: opens and migrates the database, builds the server with every part
 * mounted, listens, and publishes the demo show on first start. `close()` undoes it all.
 */
export async function startNode(o: NodeOptions): Promise<RunningNode> {
  const roles = new Set<NodeRole>(o.roles ?? nodeRoles);
  await mkdir(o.dataDir, { recursive: true });
  const migrations = [
    ...privacyMigrations,
    ...leaseMigrations,
    ...catalogMigrations,
    ...nodeServiceMigrations,
  ];
  const db = await openDb({ databaseUrl: o.databaseUrl, dataDir: o.dataDir, migrations });
  let app: FastifyInstance | undefined;
  let udp: UdpTracker | undefined;
  let stream: EventStream | undefined;
  let services: NodeServices | undefined;
  let facts: ReturnType<typeof streamFactSink> | undefined;
  let views: NodePageViews | undefined;
  const engines = { ...defaultEngineNames, ...o.engines };
  let store: MemorySwarmStore | RedisSwarmStore = new MemorySwarmStore();
  if (o.redisUrl) {
    store = new RedisSwarmStore({ url: o.redisUrl, prefix: engines.redisPrefix });
    await store.redis.connect();
  }
  // Rate limits, log-in failures and portal cache drops: shared by every process in Redis.
  const shared =
    store instanceof RedisSwarmStore
      ? redisSharedState(store.redis, engines.redisPrefix, (err) =>
          app?.log.warn({ err, code: 'WEB_SHARED_STATE_FAILED' }, 'shared state in Redis failed'),
        )
      : processSharedState();
  // Daily salts of audience keys: Redis with a TTL, else a file under the data dir; never the
  // database. One store for every part of the node (origin, tracker facts, collector).
  const saltClock = o.clock ?? systemClock;
  const salts = openSaltStore({
    redisUrl: o.redisUrl,
    dataDir: o.dataDir,
    now: () => saltClock.now(),
    // A network with its own Redis prefix keeps its salts under it too.
    redisPrefix:
      engines.redisPrefix === defaultEngineNames.redisPrefix ? undefined : `${engines.redisPrefix}salt:`,
  });
  const tracker = new Tracker({
    store,
    // One UDP connection-id key for every process of the network (a client may connect
    // through one and announce through another); random per process without Redis.
    ...(store instanceof RedisSwarmStore
      ? { udpSecret: await sharedUdpSecret(store.redis, engines.redisPrefix) }
      : {}),
    observer: { observe: (a) => services?.announceFacts.observe(a) },
    ...(o.clock ? { clock: o.clock } : {}),
  });
  try {
    await migrate(db, migrations);
    stream = await openEventStream({
      natsUrl: o.natsUrl,
      dataDir: o.dataDir,
      streamName: engines.natsStream,
      subjectPrefix: engines.natsSubjects,
      consumerPrefix: engines.natsConsumerPrefix,
    });
    facts = streamFactSink(stream);
    // Episode page views: a fact on the stream per page served, counted by the web processes.
    views = await startPageViews({
      stream,
      db,
      clock: o.clock ?? systemClock,
      count: roles.has('web'),
      log: (err, message) => app?.log.error({ err, code: 'CAT_VIEWS_FAILED' }, message),
    });
    const trackerUrls: string[] = [];
    let base = o.publicUrl?.replace(/\/+$/, '') ?? '';
    const urls = siteUrls(() => base);
    const catalog: CatalogContext = {
      db,
      clock: o.clock ?? systemClock,
      mediaDir: join(o.dataDir, 'media'),
      uploadsDir: join(o.dataDir, 'uploads'),
      maxUploadBytes: o.maxUploadBytes ?? 2 * 1024 ** 3,
      mediaUrl: urls.media,
      publicUrl: () => base,
      trackers: () => trackerUrls,
      torrents: { make: makeHybridTorrent },
    };
    await mkdir(catalog.mediaDir, { recursive: true });
    const bootstrap =
      o.dhtBootstrap === undefined
        ? (process.env.SWARMCAST_DHT_BOOTSTRAP?.split(',')
            .map((x) => x.trim())
            .filter(Boolean) ?? null)
        : o.dhtBootstrap;
    let dht: DhtNode | null = null;
    if (bootstrap) {
      const started = await DhtNode.start({
        bootstrap,
        host: o.host === '0.0.0.0' ? '0.0.0.0' : '127.0.0.1',
      });
      if (!started.ok) throw new Error(started.error.message);
      dht = started.value;
    }
    app = await createNodeServer({
      catalog,
      dht,
      logLevel: o.logLevel ?? false,
      daiMounted: () => services?.dai != null,
      daiView: {
        mounted: () => services?.dai != null,
        reasonOf: (id) => services?.dai?.reasons.get(id),
        changed: () => services?.dai?.forget(),
      },
      ...(o.trustProxy ? { trustProxy: o.trustProxy } : {}),
      shared,
      pageViews: views.recorder,
      ...(o.portalCacheMs ? { portalCacheMs: o.portalCacheMs } : {}),
    });
    restrictToRoles(app, roles);
    const log = app.log;
    catalog.log = (message, err) =>
      log.error({ err, code: (err as { code?: string } | null)?.code ?? 'CAT_TORRENT_FAILED' }, message);
    // A publish or upload cut by kill -9 is finished or swept before anything is served.
    const recovered = await recoverPublishing(catalog);
    if (recovered.finished + recovered.swept > 0)
      log.warn(
        { code: 'CAT_RECOVERED', ...recovered },
        'finished interrupted publishes, swept orphaned uploads',
      );
    // The origin: web seed and podcast enclosure, each request a download fact on the stream.
    const datacenterRanges = o.datacenterRanges ?? process.env.DATACENTER_RANGES ?? null;
    const referrerFile = o.referrerExclusions ?? process.env.REFERRER_EXCLUSIONS;
    const edge: EdgeOptions = {
      facts,
      audienceKeys: createAudienceKeys(salts),
      addresses: await loadAddressList(datacenterRanges),
      safeAddresses: await loadSafeAddresses(
        o.safeAddresses ?? process.env.SAFE_ADDRESSES,
        catalog.clock.now(),
      ),
      referrerExclusions: referrerFile
        ? parseReferrerExclusions(await readFile(referrerFile, 'utf8'))
        : new Set<string>(),
      ...(o.clock ? { clock: o.clock } : {}),
    };
    if (roles.has('origin')) {
      refuseTakenDownMedia(app, db);
      await app.register(originPlugin, { prefix: '/media', mediaRoot: catalog.mediaDir, ...edge });
    }
    if (roles.has('tracker')) await trackerPlugin(app, { tracker });
    // STUN answers on the UDP tracker's port, at the host the world knows the node by.
    let selfStun: { host: string; port: number } | null = null;
    const ice = {
      settings: o.ice ?? parseIceSettings(undefined, undefined, undefined),
      clock: catalog.clock,
      self: () => selfStun,
    };
    iceRoute(app, ice);
    services = await mountNodeServices({
      app,
      db,
      stream,
      catalog,
      clock: catalog.clock,
      dataDir: o.dataDir,
      host: o.host,
      publicUrl: () => base,
      datacenterRanges,
      salts,
      shared,
      iceServers: () => iceServersOf(ice, 'node'),
      daiMedia: o.daiPrepare === null ? null : mediaPort(o.daiPrepare ?? ((input, p) => prepareAd(input, p))),
      ...(o.seed === false || !roles.has('seeder') ? { seed: false } : {}),
      runPipeline: roles.has('measure'),
      ...(o.seedLeaseMs ? { seedLeaseMs: o.seedLeaseMs } : {}),
      ...(o.keysReloadMs ? { keysReloadMs: o.keysReloadMs } : {}),
      ...(o.decisionRate ? { decisionRate: o.decisionRate } : {}),
      dht,
    });
    // The stitched enclosure (dynamic ad insertion): the origin serves what the node's
    // resolver decides (ads' plan, media's layout); the origin itself imports neither.
    const dai = roles.has('origin') ? services.dai : null;
    if (dai) {
      await app.register(enclosurePlugin, {
        prefix: '/dai',
        mediaRoot: catalog.mediaDir,
        ...edge,
        resolve: dai.resolve,
        plainPath: dai.plainPath,
      });
      daiChapterRoutes(app, {
        dai,
        audienceKeys: edge.audienceKeys,
        clock: catalog.clock,
        db,
        mediaDir: catalog.mediaDir,
      });
    }
    o.routes?.(app);
    await app.listen({ port: o.port, host: o.host });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : o.port;
    // The UDP tracker answers on the TCP server's port number, unless told otherwise or the
    // TCP port was picked by the kernel (then UDP gets its own ephemeral port).
    if (roles.has('tracker')) {
      udp = await startUdpTracker(tracker, { port: o.udpPort ?? (o.port === 0 ? 0 : port), host: o.host });
      tracker.start();
    }
    const shownHost =
      o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host.includes(':') ? `[${o.host}]` : o.host;
    if (!base) base = `http://${shownHost}:${port}`;
    const publicHost = new URL(base).hostname;
    if (udp) selfStun = { host: publicHost, port: udp.port };
    trackerUrls.push(
      `${base}/announce`,
      `udp://${publicHost}:${udp?.port ?? o.udpPort ?? port}/announce`,
      `${base.replace(/^http/, 'ws')}/announce`,
    );
    await services.started();
    // The demo is published once, by a process that serves the site (any web process: the
    // catalog's show creation settles the race between several).
    if ((o.demo ?? true) && roles.has('web')) await seedDemo(catalog);
    if (roles.has('origin')) void services.warmDai();
    // Shows on the DHT: their newest feed seeded by this process and their items fresh.
    if (app.mutableShows && roles.has('seeder') && services.seeding)
      await app.mutableShows.refreshAll().catch((err: unknown) => log.warn({ err }, 'DHT shows at start'));
    const running = app;
    const mounted = services;
    return {
      url: `${base}/`,
      udpPort: udp?.port ?? null,
      app: running,
      db,
      catalog,
      services: mounted,
      async close() {
        await services?.close();
        await udp?.close();
        await running.close();
        await shared.close();
        await salts.close?.();
        await tracker.close();
        await facts?.close();
        await views?.close();
        await stream?.close();
        await db.close();
      },
    };
  } catch (err) {
    await services?.close().catch(() => {});
    await udp?.close();
    await app?.close();
    await shared.close();
    await tracker.close();
    await facts?.close();
    await views?.close();
    await stream?.close();
    await db.close();
    await salts.close?.();
    throw err;
  }
}

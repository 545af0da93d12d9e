/**
 * The parts of a node beyond catalog, origin and tracker: the ad server (with its signing
 * key, admin token, persisted store and a house campaign), measurement (collector, the
 * pipeline consumer on the node's own event stream, reports, the ledger). `startNode`
 * calls `mountNodeServices` before it listens and `started()` once it knows its URL.
 */

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  adsMigrations,
  adsPlugin,
  dbClaimLog,
  loadDeliverySeed,
  loadModel,
  loadStore,
  PreparedAds,
  publicKeysOf,
  StitchPlanner,
  saveDelivery,
  stitchPlanMigrations,
} from '@swarmcast/ads';
import type { DhtNode } from '@swarmcast/bittorrent/node';
import {
  type CatalogContext,
  episodeForAds,
  isEpisodeMedia,
  popularShows,
  registerNodeAdminToken,
  showTitles,
} from '@swarmcast/catalog';
import { ledgerMigrations } from '@swarmcast/ledger';
import { edgeClassifier, type MeasureHandle, measureMigrations, measurePlugin } from '@swarmcast/measure';
import {
  type Clock,
  clientFamilyFromPeerId,
  createAudienceKeys,
  type Db,
  type EventStream,
  type IceServer,
  loadAddressList,
  type Migration,
  memorySaltStore,
  type SaltStore,
} from '@swarmcast/platform';
import type { RateRule } from '@swarmcast/tracker';
import { AnnounceFactPublisher, type AnnounceObserver } from '@swarmcast/tracker';
import type { SharedState } from '@swarmcast/web';
import { whoIs } from '@swarmcast/web';
import type { FastifyInstance } from 'fastify';
import { cachedAdsEpisodes } from './ads-episodes.ts';
import { createDai, type Dai } from './dai.ts';
import type { DaiMedia } from './dai-media.ts';
import { limitDecisions } from './decision-limit.ts';
import { seedHouseCampaign } from './house-ads.ts';
import { watchKeyRing } from './key-ring.ts';
import { measureAccess } from './measure-access.ts';
import { registerPublishedEpisodes } from './measure-episodes.ts';
import { loadAdminToken, loadKeyRing, loadStatementKey } from './secrets.ts';
import { SeedRoster } from './seed-roster.ts';
import { type Seeding, startSeeding } from './seeding.ts';

/** Migrations of the parts mounted here, after the platform's and the catalog's. */
export const nodeServiceMigrations: Migration[] = [
  ...adsMigrations,
  ...stitchPlanMigrations,
  ...ledgerMigrations,
  ...measureMigrations,
];

export interface NodeServicesDeps {
  app: FastifyInstance;
  /** Ad decisions allowed per source address (default `defaultDecisionRate`). */
  decisionRate?: RateRule;
  /** How often the signing keys file is re-read (default 15 s; a rotation is announced 2 min ahead). */
  keysReloadMs?: number;
  /** State shared by every process of the network (Redis with REDIS_URL); default this process. */
  shared?: SharedState;
  db: Db;
  stream: EventStream;
  catalog: CatalogContext;
  clock: Clock;
  dataDir: string;
  /** Address the node listens on (the engine's seeding port binds it too). */
  host?: string;
  /** Seed published torrents with the engine (default true). */
  seed?: boolean;
  /** Run the measurement pipeline consumer and delivery settlement here (default true). */
  runPipeline?: boolean;
  /** How long a seeding lease lasts unrenewed: take-over time after a seeder dies (default 15 s). */
  seedLeaseMs?: number;
  /** Also seed over WebRTC through the node's WebSocket tracker (default true). */
  webrtc?: boolean;
  /** The node's DHT: every seeded torrent is also announced there (BEP 5 announce_peer). */
  dht?: DhtNode | null;
  /** The node's public base URL (no trailing slash); known only once listening on port 0. */
  publicUrl: () => string;
  /** The admin token (default: env SWARMCAST_ADMIN_TOKEN, else `<dataDir>/admin-token`). */
  adminToken?: string | undefined;
  /** Creator share of ad revenue, percent (default 70). */
  creatorSharePercent?: number;
  /** How often the ad server's delivery counters are written (default 60 s). */
  deliveryFlushMs?: number;
  /** The node's daily salt store (shared with the origin); default one in this process. */
  salts?: SaltStore;
  /** File of data-centre CIDR ranges (default: the platform's shipped list). */
  datacenterRanges?: string | null;
  /** ICE servers for the seeder's WebRTC peers, asked per connection (TURN credentials expire). */
  iceServers?: () => IceServer[];
  /** The media layer for dynamic ad insertion; none: enclosures are the plain files. */
  // biome-ignore lint/suspicious/noExplicitAny: the port's scan/profile/meta types are the media layer's own
  daiMedia?: DaiMedia<any, any, any> | null;
  /** Header the operator's proxy sets with the listener's country (default x-swarmcast-country). */
  countryHeader?: string;
}

export interface NodeServices {
  measure: MeasureHandle;
  /** The engine seeding every published torrent (null until started, or when off). */
  seeding: Seeding | null;
  /**
   * Which episodes this process seeds: those whose seeding lease it holds (one seeder per
   * torrent among the processes sharing the database). Null when seeding is off.
   */
  roster: SeedRoster | null;
  /**
   * Published episodes whose file is not in this node's media folder (another node sharing
   * the database published them): reported at start, not seeded, never a crash.
   */
  missingMedia: Array<{ episodeId: string; path: string }>;
  /** Feed of the node's tracker: each accepted announce becomes a fact on the stream. */
  announceFacts: AnnounceObserver;
  /** The admin token in force (for the operator's log line). */
  adminToken: string;
  /** Dynamic ad insertion (null without a media layer). */
  dai: Dai | null;
  /** Queues preparing every approved audio creative for the profiles of published episodes. */
  warmDai(): Promise<void>;
  /** Called once the node listens: the house campaign and measurement's episode list. */
  started(): Promise<void>;
  /** Stops timers and flushes delivery (the Fastify close hooks do the rest). */
  close(): Promise<void>;
}

/** Mounts ads and measurement on `app` (before it listens). */
export async function mountNodeServices(d: NodeServicesDeps): Promise<NodeServices> {
  // Made on first start; then re-read while running, so `swarmcast keys rotate` needs no restart.
  await loadKeyRing(d.dataDir, d.clock.now());
  const keys = await watchKeyRing(d.dataDir, {
    now: () => d.clock.now(),
    ...(d.keysReloadMs ? { reloadMs: d.keysReloadMs } : {}),
    onError: (err) => d.app.log.error({ err, code: 'ADS_SIGNING_KEYS_UNREADABLE' }, 'signing keys file'),
  });
  d.app.addHook('onClose', async () => keys.close());
  const adminToken = d.adminToken ?? (await loadAdminToken(d.dataDir, process.env.SWARMCAST_ADMIN_TOKEN));
  // The token opens every API (catalog and admin pages too), not only ads and measurement.
  await registerNodeAdminToken(d.db, adminToken);
  const store = await loadStore(d.db, d.clock.now());
  // With N processes (REDIS_URL) caps and pacing are counted once for all of them.
  // If Redis loses them (it keeps nothing on disk), they are seeded again from the ads tables.
  const sharedDelivery = d.shared?.adsDelivery({
    capHoldMs: store.capHoldMs,
    seed: (now) => loadDeliverySeed(d.db, now),
    // Each claim recorded before Redis holds it: a seed then has what was in flight too.
    claims: dbClaimLog(d.db),
  });
  // A campaign, line item or creative written through another process's API: read the model
  // again, so every process serves (and pauses) the same line items.
  const adsModel = await d.shared?.signal('ads-model', () => {
    loadModel(d.db, store).catch((err: unknown) =>
      d.app.log.error({ err }, 'reloading the ads model failed'),
    );
  });
  if (adsModel) d.app.addHook('onClose', async () => adsModel.close());
  const adsMediaDir = join(d.dataDir, 'ads-media');
  limitDecisions(d.app, d.decisionRate, d.shared);
  // Ads prepared for stitching (below); the ads dashboard shows why a creative could not be.
  let prepared: PreparedAds<unknown, unknown> | null = null;
  await d.app.register(adsPlugin, {
    ...(d.countryHeader ? { countryHeader: d.countryHeader } : {}),
    stitchFailures: () => prepared?.failures() ?? [],
    // Cached: a query per ad request was most of a decision's time on the embedded database.
    episodes: cachedAdsEpisodes({
      app: d.app,
      load: (id) => episodeForAds(d.db, id),
      catalog: d.catalog,
      clock: d.clock,
    }),
    // Shows to target by name on the line-item form: every show with a published episode.
    shows: async () =>
      (await popularShows(d.db, 1000)).map((s) => ({ id: s.id, title: s.title, categories: s.categories })),
    keys: () => keys.ring(),
    clock: d.clock,
    publicUrl: d.publicUrl,
    mediaDir: adsMediaDir,
    adminToken,
    // The catalog's accounts: advertisers see their own campaigns, admins everything.
    auth: async (req) => {
      const a = await whoIs(d.catalog, req);
      const via = req.headers.authorization?.startsWith('Bearer ') ? 'token' : 'session';
      return a && { accountId: a.id, role: a.role, via };
    },
    viewer: (req) => whoIs(d.catalog, req),
    db: d.db,
    store,
    ...(sharedDelivery ? { sharedDelivery } : {}),
    ...(adsModel ? { onModelChanged: () => adsModel.send() } : {}),
    // Fill-rate events (ads.opportunity) for measurement, on the node's own stream.
    stream: d.stream,
    // The node's own list, filled once it listens (the same array the catalog reads).
    announce: d.catalog.trackers(),
  });

  const audience = createAudienceKeys(d.salts ?? memorySaltStore());
  const datacenters = await loadAddressList(d.datacenterRanges ?? null);
  const measure = await measurePlugin(d.app, {
    db: d.db,
    runPipeline: d.runPipeline ?? true,
    stream: d.stream,
    edge: edgeClassifier(audience, datacenters),
    publicKeys: () => publicKeysOf(keys.ring()),
    statementKey: await loadStatementKey(d.dataDir, process.env.SWARMCAST_STATEMENT_KEY, d.clock.now()),
    clock: d.clock,
    creatorShareBps: (d.creatorSharePercent ?? 70) * 100,
    authorize: measureAccess(d.catalog, adminToken),
    viewer: (req) => whoIs(d.catalog, req),
    // Report pages name shows and campaigns instead of showing their ids.
    present: {
      labels: async (ids) => {
        const names = new Map<string, string>();
        for (const id of ids) {
          const named = store.campaigns.get(id) ?? store.advertisers.get(id);
          if (named) names.set(id, named.name);
        }
        const rest = ids.filter((id) => !names.has(id));
        for (const [id, title] of await showTitles(d.db, rest)) names.set(id, title);
        return names;
      },
    },
  });

  // The tracker's announces as facts for measurement (same audience keys as the collector).
  const announceFacts = new AnnounceFactPublisher({
    stream: d.stream,
    audienceKey: (ip, ua, now) => audience.audienceKey(ip, ua, now),
    clientFamily: clientFamilyFromPeerId,
    isDatacenter: (ip) => datacenters.isDatacenter(ip),
  });
  announceFacts.start();

  // Dynamic ad insertion: plans decided by this ad server, ads prepared ahead in the data dir.
  let dai: Dai | null = null;
  let planner: StitchPlanner | null = null;
  const approvedAudio = () =>
    [...store.creatives.values()]
      .filter((c) => c.approval === 'approved' && c.mediaKind === 'audio')
      .map((c) => c.id);
  if (d.daiMedia) {
    const media = d.daiMedia;
    prepared = new PreparedAds({
      dir: join(d.dataDir, 'ads-prepared'),
      profileKey: (p) => media.profileKey(p),
      sourceOf: (id) => {
        const url = store.creatives.get(id)?.mediaUrl ?? '';
        const m = /^\/ads\/media\/([A-Za-z0-9._-]+)$/.exec(url);
        return m ? join(adsMediaDir, m[1]!) : null;
      },
      prepare: (input, p) => media.prepare(input, p),
      onError: (creativeId, profileKey, err) =>
        d.app.log.warn({ creativeId, profileKey, err }, 'preparing an ad for stitching failed'),
    });
    planner = new StitchPlanner({
      db: d.db,
      deps: {
        view: store,
        signingKey: () => keys.ring().active,
        newId: () => randomUUID(),
        // A plan lives for its UTC day; deliveries are counted up to two days later.
        tokenTtlMs: 3 * 86_400_000,
        // With Redis, each break is decided and claimed on the caps and delivery every
        // process shares, as a VAST answer is.
        ...(sharedDelivery ? { shared: sharedDelivery } : {}),
      },
      onError: (err) => d.app.log.error({ err }, 'storing a stitch plan failed'),
    });
    dai = createDai({
      db: d.db,
      clock: d.clock,
      mediaDir: d.catalog.mediaDir,
      planner,
      prepared,
      media,
      onPlanError: (err) =>
        d.app.log.error({ err }, 'stitch plan: deciding or storing failed; clean file served'),
    });
  }

  let timer: ReturnType<typeof setInterval> | undefined;
  let warmTimer: ReturnType<typeof setInterval> | undefined;
  const services: NodeServices = {
    measure,
    seeding: null,
    roster: null,
    missingMedia: [],
    // The node's own seeding engine announces to its own tracker: not an audience, so its
    // announces never become facts (swarm figures count listeners' peers only).
    announceFacts: {
      observe(a) {
        const own = services.seeding?.peerId;
        if (own && Buffer.from(a.request.peerId).equals(Buffer.from(own))) return;
        announceFacts.observe(a);
      },
    },
    adminToken,
    dai,
    async warmDai() {
      await dai
        ?.warm(approvedAudio())
        .catch((err: unknown) => d.app.log.warn({ err }, 'preparing ads failed'));
    },
    async started() {
      await seedHouseCampaign(d.db, store, { mediaDir: adsMediaDir, publicUrl: d.publicUrl() });
      // A fresh Redis gets its ad counters now rather than on the first ad request (which
      // waits for this same seeding); not awaited: a Redis down at start does not hold it up.
      void sharedDelivery
        ?.ready(d.clock.now())
        .catch((err: unknown) => d.app.log.error({ err }, 'seeding the shared ad counters failed'));
      if (dai) {
        void services.warmDai();
        warmTimer = setInterval(() => void services.warmDai(), 60_000);
        warmTimer.unref();
      }
      await registerPublishedEpisodes(d.db, d.catalog.mediaDir);
      if (d.seed ?? true) {
        services.seeding = await startSeeding({
          ...(d.host ? { host: d.host } : {}),
          ...(d.dht ? { dht: d.dht } : {}),
          announceUrl: () => `${d.publicUrl()}/announce`,
          ...((d.webrtc ?? true)
            ? { webSocketUrl: () => `${d.publicUrl().replace(/^http/, 'ws')}/announce` }
            : {}),
          ...(d.iceServers ? { iceServers: d.iceServers } : {}),
          onWarning: (message) => d.app.log.warn({ message }, 'seeding'),
        });
        services.roster = new SeedRoster({
          db: d.db,
          mediaDir: d.catalog.mediaDir,
          seeding: services.seeding,
          clock: d.clock,
          holder: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
          ...(d.seedLeaseMs ? { ttlMs: d.seedLeaseMs } : {}),
          onMissing: (episodeId, path, reason) => {
            services.missingMedia.push({ episodeId, path });
            d.app.log.warn(
              { code: 'CAT_MEDIA_MISSING', episodeId, path, reason },
              'a published episode has no media file in this data dir; not seeded',
            );
          },
          onError: (err) => d.app.log.error({ err }, 'seeding leases'),
        });
        await services.roster.start();
      }
      timer = setInterval(() => {
        saveDelivery(d.db, store, d.clock.now()).catch((err: unknown) =>
          d.app.log.error({ err }, 'ads delivery flush failed'),
        );
      }, d.deliveryFlushMs ?? 60_000);
      timer.unref();
    },
    async close() {
      if (timer) clearInterval(timer);
      if (warmTimer) clearInterval(warmTimer);
      await prepared?.close();
      // Plans answered but not yet stored are written before the database closes.
      await planner?.idle();
      await services.roster?.close();
      services.roster = null;
      await services.seeding?.close();
      services.seeding = null;
      await announceFacts.close();
      // adsPlugin also flushes in its onClose hook; this one covers a close before listen.
      await saveDelivery(d.db, store, d.clock.now());
    },
  };

  // Newly published episodes reach the engine and measurement through the catalog's seed port,
  // which publishing calls right after making the torrent from the same file (no re-hash).
  const torrents = d.catalog.torrents;
  if (torrents) {
    const seedBefore = torrents.seed;
    torrents.seed = async (torrent, path) => {
      await seedBefore?.(torrent, path);
      const mediaPath = relativeMediaPath(d.catalog.mediaDir, path);
      // Not an episode's file (a show's index torrent, its feed for BEP 46 followers): no
      // lease to share, the process that made it seeds it.
      if (!(await isEpisodeMedia(d.db, mediaPath))) {
        await services.seeding?.seed(torrent, path, { dataVerified: true });
        return;
      }
      await services.roster?.offer(path);
      await registerPublishedEpisodes(d.db, d.catalog.mediaDir, { mediaPath });
      // A new episode may have a new encoding profile: prepare the ads for it ahead of listeners.
      void services.warmDai();
    };
    torrents.unseed = async (infoHash) => {
      await services.seeding?.unseed(infoHash);
    };
  }
  return services;
}

/** The catalog's media path ("show/file.mp3") of a file under the media root. */
function relativeMediaPath(mediaDir: string, path: string): string {
  const root = mediaDir.endsWith('/') ? mediaDir : `${mediaDir}/`;
  return path.startsWith(root) ? path.slice(root.length) : path;
}

/**
 * The parts of a node beyond catalog, origin and tracker: the ad server (with its signing
 * key, admin token, persisted store and a house campaign), measurement (collector, the
 * pipeline consumer on the node's own event stream, reports, the ledger). `startNode`
 * calls `mountNodeServices` before it listens and `started()` once it knows its URL.
 */
import { join } from 'node:path';
import { adsMigrations, adsPlugin, loadStore, publicKeysOf, saveDelivery } from '@swarmcast/ads';
import { type CatalogContext, episodeForAds } from '@swarmcast/catalog';
import { ledgerMigrations } from '@swarmcast/ledger';
import { type MeasureHandle, measureMigrations, measurePlugin } from '@swarmcast/measure';
import {
  type Clock,
  classifyUserAgent,
  clientFamilyFromPeerId,
  createAudienceKeys,
  type Db,
  dbSaltStore,
  type EventStream,
  type IceServer,
  loadAddressList,
  type Migration,
} from '@swarmcast/platform';
import { AnnounceFactPublisher, type AnnounceObserver } from '@swarmcast/tracker';
import type { FastifyInstance } from 'fastify';
import { whoIs } from './auth.ts';
import { seedHouseCampaign } from './node/house-ads.ts';
import { measureAccess } from './node/measure-access.ts';
import { registerPublishedEpisodes } from './node/measure-episodes.ts';
import { loadAdminToken, loadKeyRing } from './node/secrets.ts';
import { type Seeding, seedPublished, startSeeding } from './node/seeding.ts';

/** Migrations of the parts mounted here, after the platform's and the catalog's. */
export const nodeServiceMigrations: Migration[] = [
  ...adsMigrations,
  ...ledgerMigrations,
  ...measureMigrations,
];

export interface NodeServicesDeps {
  app: FastifyInstance;
  db: Db;
  stream: EventStream;
  catalog: CatalogContext;
  clock: Clock;
  dataDir: string;
  /** Address the node listens on (the engine's seeding port binds it too). */
  host?: string;
  /** Seed published torrents with the engine (default true). */
  seed?: boolean;
  /** Also seed over WebRTC through the node's WebSocket tracker (default true). */
  webrtc?: boolean;
  /** The node's public base URL (no trailing slash); known only once listening on port 0. */
  publicUrl: () => string;
  /** The admin token (default: env SWARMCAST_ADMIN_TOKEN, else `<dataDir>/admin-token`). */
  adminToken?: string | undefined;
  /** Creator share of ad revenue, percent (default 70). */
  creatorSharePercent?: number;
  /** How often the ad server's delivery counters are written (default 60 s). */
  deliveryFlushMs?: number;
  /** File of data-centre CIDR ranges (default: the platform's shipped list). */
  datacenterRanges?: string | null;
  /** ICE servers for the seeder's WebRTC peers, asked per connection (TURN credentials expire). */
  iceServers?: () => IceServer[];
}

export interface NodeServices {
  measure: MeasureHandle;
  /** The engine seeding every published torrent (null until started, or when off). */
  seeding: Seeding | null;
  /** Feed of the node's tracker: each accepted announce becomes a fact on the stream. */
  announceFacts: AnnounceObserver;
  /** The admin token in force (for the operator's log line). */
  adminToken: string;
  /** Called once the node listens: the house campaign and measurement's episode list. */
  started(): Promise<void>;
  /** Stops timers and flushes delivery (the Fastify close hooks do the rest). */
  close(): Promise<void>;
}

/** Mounts ads and measurement on `app` (before it listens). */
export async function mountNodeServices(d: NodeServicesDeps): Promise<NodeServices> {
  const ring = await loadKeyRing(d.dataDir, d.clock.now());
  const adminToken = d.adminToken ?? (await loadAdminToken(d.dataDir, process.env.SWARMCAST_ADMIN_TOKEN));
  const store = await loadStore(d.db, d.clock.now());
  const adsMediaDir = join(d.dataDir, 'ads-media');
  await d.app.register(adsPlugin, {
    episodes: (id) => episodeForAds(d.db, id),
    keys: () => ring,
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
    // Fill-rate events (ads.opportunity) for measurement, on the node's own stream.
    stream: d.stream,
    // The node's own list, filled once it listens (the same array the catalog reads).
    announce: d.catalog.trackers(),
  });

  const audience = createAudienceKeys(dbSaltStore(d.db));
  const datacenters = await loadAddressList(d.datacenterRanges ?? null);
  const measure = await measurePlugin(d.app, {
    db: d.db,
    stream: d.stream,
    edge: async (ip, ua, now) => ({
      audienceKey: await audience.audienceKey(ip, ua, now),
      client: classifyUserAgent(ua),
      datacenter: datacenters.isDatacenter(ip),
    }),
    publicKeys: () => publicKeysOf(ring),
    clock: d.clock,
    creatorShareBps: (d.creatorSharePercent ?? 70) * 100,
    authorize: measureAccess(d.catalog, adminToken),
    viewer: (req) => whoIs(d.catalog, req),
  });

  // The tracker's announces as facts for measurement (same audience keys as the collector).
  const announceFacts = new AnnounceFactPublisher({
    stream: d.stream,
    audienceKey: (ip, ua, now) => audience.audienceKey(ip, ua, now),
    clientFamily: (peerId) => clientFamilyFromPeerId(peerId),
    isDatacenter: (ip) => datacenters.isDatacenter(ip),
  });
  announceFacts.start();

  let timer: ReturnType<typeof setInterval> | undefined;
  const services: NodeServices = {
    measure,
    seeding: null,
    announceFacts,
    adminToken,
    async started() {
      await seedHouseCampaign(d.db, store, { mediaDir: adsMediaDir, publicUrl: d.publicUrl() });
      await registerPublishedEpisodes(d.db, d.catalog.mediaDir);
      if (d.seed ?? true) {
        services.seeding = await startSeeding({
          ...(d.host ? { host: d.host } : {}),
          announceUrl: () => `${d.publicUrl()}/announce`,
          ...((d.webrtc ?? true)
            ? { webSocketUrl: () => `${d.publicUrl().replace(/^http/, 'ws')}/announce` }
            : {}),
          ...(d.iceServers ? { iceServers: d.iceServers } : {}),
          onWarning: (message) => d.app.log.warn({ message }, 'seeding'),
        });
        await seedPublished(d.db, d.catalog.mediaDir, services.seeding);
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
      await services.seeding?.seed(torrent, path, { dataVerified: true });
      await registerPublishedEpisodes(d.db, d.catalog.mediaDir, {
        mediaPath: relativeMediaPath(d.catalog.mediaDir, path),
      });
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

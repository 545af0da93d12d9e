/**
 * The node as a BitTorrent peer: one engine `SwarmNode` (one TCP port) seeding every
 * published episode's torrent from the media folder, each announced to the node's own
 * HTTP tracker so clients that join by the torrent's trackers find a full peer, not only
 * the web seed. With `webrtc`, each torrent is also announced to the node's WebSocket
 * tracker with WebRTC offers, so the first browser player finds a peer too. Episodes
 * published while running arrive through the catalog's seed port.
 */
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import {
  HttpTracker,
  type RtcIceServer,
  systemTimers,
  TrackerPeerSource,
  WebSocketTrackerClient,
  wireInfoHash,
} from '@swarmcast/bittorrent';
import {
  loadTorrent,
  nodeRtcFactory,
  nodeWebSocket,
  SwarmNode,
  seedTorrent,
  type TorrentHandle,
} from '@swarmcast/bittorrent/node';
import { v1Companion } from '@swarmcast/catalog';
import type { Queryable } from '@swarmcast/platform';
import { cleanup as stopRtcThreads } from 'node-datachannel';

export interface Seeding {
  /** TCP port of the engine. */
  readonly port: number;
  /** The engine's peer id (its announces are the node's own, not an audience's). */
  readonly peerId?: Uint8Array;
  /** Hex info-hashes being seeded. */
  seeded(): string[];
  /**
   * Seeds one torrent from the file at `path` (idempotent per info-hash). `dataVerified`:
   * the torrent was just made from this very file, so the engine skips re-hashing it.
   */
  seed(torrent: Uint8Array, path: string, o?: { dataVerified?: boolean }): Promise<void>;
  /** Stops seeding one info-hash (its episode was deleted); unknown hashes are ignored. */
  unseed(infoHash: string): Promise<void>;
  close(): Promise<void>;
}

export interface SeedingOptions {
  /** Address the engine listens on (default every address). */
  host?: string;
  /** The node's HTTP announce URL, e.g. "http://127.0.0.1:8080/announce". */
  announceUrl: () => string;
  /** The node's WebSocket announce URL (ws://.../announce); absent: no WebRTC seeding. */
  webSocketUrl?: () => string;
  /** STUN/TURN servers for the WebRTC seeder, asked per connection (fresh TURN credentials). */
  iceServers?: () => RtcIceServer[];
  onWarning?: (message: string) => void;
}

/** Starts the engine's listener; call `seedPublished` to seed what is already published. */
export async function startSeeding(o: SeedingOptions): Promise<Seeding> {
  const node = new SwarmNode({ ...(o.host ? { host: o.host } : {}), port: 0 });
  await node.start();
  const handles = new Map<
    string,
    {
      handle: TorrentHandle;
      stop: AbortController;
      announcing: Promise<void>;
      rtc: WebSocketTrackerClient | null;
    }
  >();
  // ICE offers only the node's own address when it listens on one (tests: loopback only).
  const specific = o.host && o.host !== '0.0.0.0' && o.host !== '::' ? o.host : undefined;
  const signalling = {
    factory: nodeRtcFactory({
      ...(specific ? { bindAddress: specific } : {}),
      ...(o.iceServers ? { iceServers: o.iceServers } : {}),
    }),
    timers: systemTimers,
  };
  return {
    get port() {
      return node.port;
    },
    peerId: node.peerId,
    seeded: () => [...handles.keys()],
    async seed(torrent, path, so) {
      const meta = await loadTorrent(torrent);
      if (handles.has(Buffer.from(wireInfoHash(meta)).toString('hex'))) return;
      const handle = await seedTorrent({
        torrent: meta,
        dataPath: path,
        node,
        ...(so?.dataVerified ? { dataVerified: true } : {}),
      });
      const stop = new AbortController();
      const source = new TrackerPeerSource(new HttpTracker(o.announceUrl()), {
        infoHash: Buffer.from(handle.infoHash, 'hex'),
        peerId: node.peerId,
        port: node.port,
        stats: () => ({ uploaded: handle.stats().uploaded, downloaded: 0, left: 0 }),
        timers: systemTimers,
      });
      const announcing = source.run(
        {
          peers: (found) => handle.session.addPeers(found),
          warning: (e) => o.onWarning?.(`${handle.infoHash}: ${e.code} ${e.message}`),
        },
        stop.signal,
      );
      let rtc: WebSocketTrackerClient | null = null;
      if (o.webSocketUrl) {
        rtc = new WebSocketTrackerClient({
          url: o.webSocketUrl(),
          infoHash: Buffer.from(handle.infoHash, 'hex'),
          peerId: node.peerId,
          webSocket: nodeWebSocket,
          signalling,
          timers: systemTimers,
          randomBytes: (n) => new Uint8Array(randomBytes(n)),
          stats: () => ({ uploaded: handle.stats().uploaded, downloaded: 0, left: 0 }),
          onTransport: (transport) => handle.session.addIncoming(transport),
          onEvent: (e) => {
            if (e.type === 'warning') o.onWarning?.(`${handle.infoHash}: ${e.error.code} ${e.error.message}`);
          },
        });
        rtc.start();
      }
      handles.set(handle.infoHash, { handle, stop, announcing, rtc });
    },
    async unseed(infoHash) {
      const h = handles.get(infoHash);
      if (!h) return;
      handles.delete(infoHash);
      h.stop.abort();
      await h.rtc?.stop();
      await h.announcing;
      await h.handle.close();
    },
    async close() {
      for (const h of handles.values()) h.stop.abort();
      await Promise.all([...handles.values()].map((h) => h.rtc?.stop()));
      await Promise.all([...handles.values()].map((h) => h.announcing));
      handles.clear();
      await node.close();
      // libdatachannel's threads keep the process alive after the last connection closed.
      // It refuses (after a timeout) while another connection of this process is still open.
      if (o.webSocketUrl) {
        try {
          stopRtcThreads();
        } catch (err) {
          o.onWarning?.(`WebRTC cleanup: ${(err as Error).message}`);
        }
      }
    },
  };
}

/**
 * Seeds every published episode that has a torrent and its file under `mediaDir`: the hybrid
 * torrent and its v1-only companion. An episode published before companions existed gets
 * one now (derived from the hybrid, no hashing).
 */
export async function seedPublished(
  db: Queryable,
  mediaDir: string,
  seeding: Seeding,
  onMissing: (episodeId: string, path: string, reason: string) => void = () => {},
): Promise<number> {
  const r = await db.query<{ id: string; torrent: Uint8Array; v1: Uint8Array | null; path: string }>(
    `select t.episode_id as id, t.torrent, t.v1_torrent as v1, m.path
     from catalog_torrents t join catalog_media m on m.episode_id = t.episode_id`,
  );
  let seeded = 0;
  for (const row of r.rows) {
    const path = `${mediaDir}/${row.path}`;
    // Another node sharing the database may have published a file this data dir lacks: that
    // episode is reported and skipped, never a crash at start.
    try {
      await stat(path);
      await seeding.seed(row.torrent, path);
    } catch (err) {
      onMissing(row.id, row.path, (err as { code?: string }).code ?? 'seeding failed');
      continue;
    }
    seeded++;
    let v1 = row.v1;
    if (!v1 && (await loadTorrent(row.torrent)).version === 'hybrid') {
      const companion = v1Companion(row.torrent);
      await db.query(
        'update catalog_torrents set v1_info_hash = $2, v1_magnet = $3, v1_torrent = $4 where episode_id = $1',
        [row.id, companion.infoHashV1, companion.magnet, companion.torrent],
      );
      v1 = companion.torrent;
    }
    if (v1) await seeding.seed(v1, path);
  }
  return seeded;
}

/**
 * The node as a BitTorrent peer: one engine `SwarmNode` (one TCP port) seeding every
 * published episode's torrent from the media folder, each announced to the node's own
 * HTTP tracker so clients that join by the torrent's trackers find a full peer, not only
 * the web seed. With `webrtc`, each torrent is also announced to the node's WebSocket
 * tracker with WebRTC offers, so the first browser player finds a peer too. Episodes
 * published while running arrive through the catalog's seed port.
 */
import { randomBytes } from 'node:crypto';
import {
  cappedRtcFactory,
  HttpTracker,
  type RtcIceServer,
  systemTimers,
  TrackerPeerSource,
  WebSocketTrackerClient,
  wireInfoHash,
} from '@swarmcast/bittorrent';
import {
  type DhtNode,
  loadTorrent,
  nodeRtcFactory,
  nodeWebSocket,
  SwarmNode,
  seedTorrent,
  type TorrentHandle,
} from '@swarmcast/bittorrent/node';
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
   * Answers the hex info-hash it is seeded under (what `unseed` takes).
   */
  seed(torrent: Uint8Array, path: string, o?: { dataVerified?: boolean }): Promise<string>;
  /** Stops seeding one info-hash (its episode was deleted); unknown hashes are ignored. */
  unseed(infoHash: string): Promise<void>;
  close(): Promise<void>;
}

export interface SeedingOptions {
  /** Address the engine listens on (default every address). */
  host?: string;
  /**
   * A DHT node: every seeded torrent (each of its info-hashes) is also looked up and
   * announced there (BEP 5 announce_peer), so a follower that knows only the hash (a
   * `swarmcast subscribe` of the show's BEP 46 key) finds this node with no tracker.
   */
  dht?: DhtNode;
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
  const node = new SwarmNode({
    ...(o.host ? { host: o.host } : {}),
    ...(o.dht ? { dht: o.dht } : {}),
    port: 0,
    // uTP beside TCP (libtorrent tries uTP first); an unbindable UDP port leaves TCP alone.
    transports: ['tcp', 'utp'],
  });
  await node.start();
  if (node.utpError) o.onWarning?.(`uTP not started: ${node.utpError}`);
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
  // No cap on the seeder's connections (every torrent keeps up to 20 offers pending): the
  // factory is here to know every connection made, so that close() can close them all.
  const rtcFactory = cappedRtcFactory(
    nodeRtcFactory({
      ...(specific ? { bindAddress: specific } : {}),
      ...(o.iceServers ? { iceServers: o.iceServers } : {}),
    }),
    Number.POSITIVE_INFINITY,
  );
  const signalling = { factory: rtcFactory, timers: systemTimers };
  return {
    get port() {
      return node.port;
    },
    peerId: node.peerId,
    seeded: () => [...handles.keys()],
    async seed(torrent, path, so) {
      const meta = await loadTorrent(torrent);
      const wire = Buffer.from(wireInfoHash(meta)).toString('hex');
      if (handles.has(wire)) return wire;
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
      return handle.infoHash;
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
      // Offers still gathering or waiting to open, answers in flight, transports the session
      // did not close: every connection the seeder made is closed before the cleanup below.
      rtcFactory.close();
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

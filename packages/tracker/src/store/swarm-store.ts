/**
 * Where swarms live. One interface, two engines: in memory (the default, one process) and
 * Redis (REDIS_URL, shared by every tracker process). One swarm per info-hash whatever the
 * dialect: TCP peers (HTTP and UDP clients) and WebRTC peers (WebSocket) are counted
 * together; a request is only handed peers of its own kind, since a browser cannot dial TCP.
 */
import type { AnnounceEvent } from '@swarmcast/platform';
import type { TrackerError } from '../errors.ts';
import type { InfoHash, PackedPeers, PeerRecord, SwarmCounts } from '../types.ts';

export interface StoreAnnounce {
  infoHash: InfoHash;
  /** Identity of the peer inside the swarm: "ip:port" for TCP peers, hex peer id for WebRTC. */
  peerKey: string;
  peer: PeerRecord;
  seeder: boolean;
  event: AnnounceEvent;
  uploaded: number;
  downloaded: number;
  /** Peers wanted back (of the announcer's kind, never the announcer itself). */
  numwant: number;
  /**
   * The caller encodes compact peers only (a TCP peer's compact announce): a store may
   * answer in `packed` instead of `peers`. Stores that do not are still correct.
   */
  packed?: boolean;
  now: number;
  /** A peer not heard from for this long is gone. */
  ttlMs: number;
}

/**
 * Whether an announcer is handed seeders. A seeder is not (two seeders have nothing to
 * exchange), except on its `started` announce with nothing downloaded: that is also how a
 * client that joined by a bare magnet announces before it knows the size (aria2 sends
 * left=0), and it needs a seeder to fetch the metadata from (BEP 9). A real seeder coming
 * online gets a few useless addresses once; a magnet client is no longer stuck forever.
 */
export function handsSeeders(a: Pick<StoreAnnounce, 'seeder' | 'event' | 'downloaded'>): boolean {
  return !a.seeder || (a.event === 'started' && a.downloaded === 0);
}

export interface StoreAnnounceResult extends SwarmCounts {
  peers: PeerRecord[];
  /** Set only when the announce asked for `packed` and the store answers so. */
  packed?: PackedPeers;
  /** The counters of this peer's previous announce in the swarm, for deltas; null if new. */
  previous: { uploaded: number; downloaded: number } | null;
}

export interface TorrentStats extends SwarmCounts {
  infoHash: InfoHash;
}

export interface StoreStats {
  torrents: number;
  peers: number;
}

export interface SwarmStore {
  /** Records the announce and picks peers; TRK_FULL when a bound would be exceeded. */
  announce(a: StoreAnnounce): Promise<StoreAnnounceResult | TrackerError>;
  /**
   * The same, synchronously, for engines that can (memory): saves a promise per announce.
   * Undefined when this announce cannot be answered now (a cluster worker's partitioned
   * store, for a swarm another worker owns): the caller then uses `announce`.
   */
  announceNow?(a: StoreAnnounce): StoreAnnounceResult | TrackerError | undefined;
  scrape(infoHashes: InfoHash[]): Promise<Map<InfoHash, SwarmCounts>>;
  /** Up to `limit` torrents with their counts, busiest first. */
  torrents(limit: number): Promise<TorrentStats[]>;
  stats(): Promise<StoreStats>;
  /** Removes peers silent since before now - ttl and empty swarms; resolves to peers removed. */
  sweep(now: number, ttlMs: number): Promise<number>;
  close(): Promise<void>;
}

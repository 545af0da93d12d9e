/**
 * The in-memory swarm store. Each swarm keeps its peers in a Map (identity -> entry) and,
 * per kind, a dense array for O(1) random sampling; removal swaps the last entry into the
 * hole. Counts are maintained incrementally, so scrape and stats cost O(1) per torrent.
 *
 * TCP peers are kept as bytes: entry i of the dense array owns `stride` bytes at
 * i * stride of the swarm's `tcpBytes` (compact length, seeder flag, compact address, peer
 * id), and their entries hold no record. A compact announce (nearly all of them) picks and
 * copies from that one buffer. Why: with one object per peer, picking 50 peers touched the
 * entry, its key, its record and the record's Uint8Array for each, and those cache misses
 * were a quarter of the tracker's CPU in the profile (issue 17); the bytes of a run of
 * peers sit in a few cache lines. And a stored record with its two Uint8Arrays was six of
 * the ten heap objects a new peer cost, each copied by the young-generation GC and marked by
 * every full one after (GC was 12-27% of the tracker's CPU under the announce bench, where
 * every announce is a new peer); the record is now made only when a non-compact answer
 * asks for one.
 *
 * Bounds (memory stays bounded whatever clients send): at most `maxTorrents` swarms,
 * `maxPeersPerSwarm` peers per swarm and `maxPeers` in total; an announce that would
 * exceed one gets TRK_FULL. Peers expire by `sweep()`, which the caller runs on a timer.
 */
import { type TrackerError, trackerError } from '../errors.ts';
import type { InfoHash, PackedPeers, PeerKind, PeerRecord, SwarmCounts } from '../types.ts';
import {
  handsSeeders,
  type StoreAnnounce,
  type StoreAnnounceResult,
  type StoreStats,
  type SwarmStore,
  type TorrentStats,
} from './swarm-store.ts';

interface Entry {
  key: string;
  kind: PeerKind;
  /** A WebRTC peer's record; null for a TCP peer, whose address and id are in `tcpBytes`. */
  ws: PeerRecord | null;
  seeder: boolean;
  uploaded: number;
  downloaded: number;
  lastSeen: number;
  /** Position in the swarm's array for this kind. */
  index: number;
}

/** Bytes per TCP peer in `tcpBytes`: [compact length][seeder 0/1][compact, up to 18][peer id, 20]. */
const stride = 40;
const idAt = 20;
/** A Buffer like the non-empty answers (one type at every reader). */
const emptyBytes = Buffer.alloc(0);

class Swarm {
  readonly peers = new Map<string, Entry>();
  readonly tcp: Entry[] = [];
  readonly ws: Entry[] = [];
  /** The TCP peers' bytes, in the order of `tcp` (see the file comment). */
  tcpBytes = new Uint8Array(stride * 4);
  complete = 0;
  incomplete = 0;
  downloaded = 0;

  list(kind: PeerKind): Entry[] {
    return kind === 'tcp' ? this.tcp : this.ws;
  }

  /** Adds an entry; a TCP peer's address and id are copied from `peer`. */
  add(e: Entry, peer: PeerRecord): void {
    const list = this.list(e.kind);
    e.index = list.length;
    list.push(e);
    if (e.kind === 'tcp') this.writeBytes(e, peer);
    this.peers.set(e.key, e);
    if (e.seeder) this.complete++;
    else this.incomplete++;
  }

  remove(e: Entry): void {
    const list = this.list(e.kind);
    const last = list.pop()!;
    if (last !== e) {
      list[e.index] = last;
      last.index = e.index;
      if (e.kind === 'tcp') {
        const from = list.length * stride;
        this.tcpBytes.copyWithin(e.index * stride, from, from + stride);
      }
    }
    this.peers.delete(e.key);
    if (e.seeder) this.complete--;
    else this.incomplete--;
  }

  /** Writes a TCP entry's bytes at its index (after an add, or a changed address or flag). */
  writeBytes(e: Entry, peer: PeerRecord): void {
    const at = e.index * stride;
    if (at + stride > this.tcpBytes.length) {
      const grown = new Uint8Array(Math.max(this.tcpBytes.length * 2, at + stride));
      grown.set(this.tcpBytes);
      this.tcpBytes = grown;
    }
    const b = this.tcpBytes;
    const c = peer.compact;
    // An address that is not 6 or 18 bytes is never handed out.
    b[at] = c.length === 6 || c.length === 18 ? c.length : 0;
    b[at + 1] = e.seeder ? 1 : 0;
    for (let k = 0; k < c.length && k < idAt - 2; k++) b[at + 2 + k] = c[k]!;
    const id = peer.peerId;
    for (let k = 0; k < 20; k++) b[at + idAt + k] = k < id.length ? id[k]! : 0;
  }

  /** A TCP peer's record, made from its bytes (for the rare non-compact answer). */
  tcpRecord(e: Entry): PeerRecord {
    const at = e.index * stride;
    const b = this.tcpBytes;
    return {
      kind: 'tcp',
      compact: b.slice(at + 2, at + 2 + b[at]!),
      peerId: b.slice(at + idAt, at + idAt + 20),
    };
  }

  counts(): SwarmCounts {
    return { complete: this.complete, incomplete: this.incomplete, downloaded: this.downloaded };
  }
}

/** Byte offsets of the picked peers (reused: pickPacked is synchronous). */
let pickedScratch = new Int32Array(256);

export interface MemoryStoreOptions {
  maxTorrents?: number;
  maxPeersPerSwarm?: number;
  maxPeers?: number;
  /** Uniform in [0, 1); injected so tests are deterministic. */
  random?: () => number;
}

export class MemorySwarmStore implements SwarmStore {
  private readonly swarms = new Map<InfoHash, Swarm>();
  private peerCount = 0;
  private readonly maxTorrents: number;
  private readonly maxPeersPerSwarm: number;
  private readonly maxPeers: number;
  private readonly random: () => number;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxTorrents = options.maxTorrents ?? 1_000_000;
    this.maxPeersPerSwarm = options.maxPeersPerSwarm ?? 100_000;
    this.maxPeers = options.maxPeers ?? 5_000_000;
    this.random = options.random ?? Math.random;
  }

  /** The synchronous core of announce, for callers that can skip a promise. */
  announceNow(a: StoreAnnounce): StoreAnnounceResult | TrackerError {
    let swarm = this.swarms.get(a.infoHash);
    const existing = swarm?.peers.get(a.peerKey);
    if (a.event === 'stopped') {
      if (swarm && existing) {
        swarm.remove(existing);
        this.peerCount--;
      }
      const counts = swarm ? swarm.counts() : { complete: 0, incomplete: 0, downloaded: 0 };
      const previous = existing ? { uploaded: existing.uploaded, downloaded: existing.downloaded } : null;
      return { ...counts, peers: [], previous };
    }
    if (!swarm) {
      if (this.swarms.size >= this.maxTorrents) return trackerError('TRK_FULL');
      swarm = new Swarm();
      this.swarms.set(a.infoHash, swarm);
    }
    let previous: StoreAnnounceResult['previous'] = null;
    let self: Entry;
    if (existing) {
      self = existing;
      previous = { uploaded: existing.uploaded, downloaded: existing.downloaded };
      if (a.event === 'completed' && !existing.seeder && a.seeder) swarm.downloaded++;
      if (existing.kind !== a.peer.kind) {
        swarm.remove(existing);
        existing.kind = a.peer.kind;
        existing.ws = a.peer.kind === 'ws' ? a.peer : null;
        existing.seeder = a.seeder;
        swarm.add(existing, a.peer);
      } else {
        if (existing.seeder !== a.seeder) {
          if (a.seeder) {
            swarm.complete++;
            swarm.incomplete--;
          } else {
            swarm.complete--;
            swarm.incomplete++;
          }
          existing.seeder = a.seeder;
        }
        if (a.peer.kind === 'tcp') swarm.writeBytes(existing, a.peer);
        else existing.ws = a.peer;
      }
      existing.uploaded = a.uploaded;
      existing.downloaded = a.downloaded;
      existing.lastSeen = a.now;
    } else {
      if (swarm.peers.size >= this.maxPeersPerSwarm || this.peerCount >= this.maxPeers) {
        if (swarm.peers.size === 0) this.swarms.delete(a.infoHash);
        return trackerError('TRK_FULL');
      }
      if (a.event === 'completed' && a.seeder) swarm.downloaded++;
      self = {
        key: a.peerKey,
        kind: a.peer.kind,
        ws: a.peer.kind === 'ws' ? a.peer : null,
        seeder: a.seeder,
        uploaded: a.uploaded,
        downloaded: a.downloaded,
        lastSeen: a.now,
        index: 0,
      };
      swarm.add(self, a.peer);
      this.peerCount++;
    }
    // Fields written out, not spread from counts(): an object spread plus extra fields is
    // built field by field at run time, on every announce.
    const packed = a.packed && a.peer.kind === 'tcp';
    return {
      complete: swarm.complete,
      incomplete: swarm.incomplete,
      downloaded: swarm.downloaded,
      peers: packed ? [] : this.pick(swarm, a),
      packed: packed ? this.pickPacked(swarm, a, self.index) : undefined,
      previous,
    };
  }

  /**
   * What `pick` picks (same start, same run, same skips), as compact bytes read from the
   * swarm's `tcpBytes` only: no entry, key or record is touched (see the file comment).
   */
  private pickPacked(swarm: Swarm, a: StoreAnnounce, selfIndex: number): PackedPeers {
    const n = swarm.tcp.length;
    if (a.numwant <= 0 || n <= 1) return { v4: emptyBytes, v6: emptyBytes };
    if (pickedScratch.length < a.numwant) pickedScratch = new Int32Array(a.numwant);
    const picked = pickedScratch;
    const bytes = swarm.tcpBytes;
    const start = Math.floor(this.random() * n);
    const seeders = handsSeeders(a);
    let count = 0;
    let v4 = 0;
    let v6 = 0;
    for (let i = 0; i < n && count < a.numwant; i++) {
      let idx = start + i;
      if (idx >= n) idx -= n;
      if (idx === selfIndex) continue;
      const at = idx * stride;
      if (!seeders && bytes[at + 1] === 1) continue;
      picked[count++] = at;
      if (bytes[at] === 6) v4++;
      else if (bytes[at] === 18) v6++;
    }
    // From Buffer's shared pool, not `new Uint8Array`: an answer's peers (300 bytes for 50)
    // are past V8's on-heap size, so each was a malloc, a backing store to register and a
    // free after the scavenge that found it dead (malloc, free and the array-buffer sweeper
    // were ~5% of the UDP tracker's CPU in perf). A pool slice is never handed out twice,
    // so it is as safe to keep as an array of its own.
    const out4 = v4 > 0 ? Buffer.allocUnsafe(v4 * 6) : emptyBytes;
    const out6 = v6 > 0 ? Buffer.allocUnsafe(v6 * 18) : emptyBytes;
    let p4 = 0;
    let p6 = 0;
    for (let j = 0; j < count; j++) {
      const at = picked[j]!;
      const len = bytes[at]!;
      if (len === 6) {
        for (let k = 0; k < 6; k++) out4[p4++] = bytes[at + 2 + k]!;
      } else if (len === 18) {
        for (let k = 0; k < 18; k++) out6[p6++] = bytes[at + 2 + k]!;
      }
    }
    return { v4: out4, v6: out6 };
  }

  /**
   * Up to numwant peers of the announcer's kind, from a random starting point in the dense
   * array (a contiguous run is as good as a shuffle for peer discovery, and O(numwant)).
   * A seeder gets no seeders, except when `handsSeeders` says it may be a magnet client.
   */
  private pick(swarm: Swarm, a: StoreAnnounce): PeerRecord[] {
    const list = swarm.list(a.peer.kind);
    const n = list.length;
    if (a.numwant <= 0 || n <= 1) return [];
    const out: PeerRecord[] = [];
    const start = Math.floor(this.random() * n);
    const seeders = handsSeeders(a);
    for (let i = 0; i < n && out.length < a.numwant; i++) {
      const e = list[(start + i) % n]!;
      if (e.key === a.peerKey) continue;
      if (!seeders && e.seeder) continue;
      out.push(e.ws ?? swarm.tcpRecord(e));
    }
    return out;
  }

  async announce(a: StoreAnnounce): Promise<StoreAnnounceResult | TrackerError> {
    return this.announceNow(a);
  }

  scrapeNow(infoHashes: InfoHash[]): Map<InfoHash, SwarmCounts> {
    const out = new Map<InfoHash, SwarmCounts>();
    for (const h of infoHashes) {
      const s = this.swarms.get(h);
      out.set(h, s ? s.counts() : { complete: 0, incomplete: 0, downloaded: 0 });
    }
    return out;
  }

  async scrape(infoHashes: InfoHash[]): Promise<Map<InfoHash, SwarmCounts>> {
    return this.scrapeNow(infoHashes);
  }

  async torrents(limit: number): Promise<TorrentStats[]> {
    const all: TorrentStats[] = [];
    for (const [infoHash, s] of this.swarms) all.push({ infoHash, ...s.counts() });
    all.sort((x, y) => y.complete + y.incomplete - (x.complete + x.incomplete));
    return all.slice(0, limit);
  }

  async stats(): Promise<StoreStats> {
    return { torrents: this.swarms.size, peers: this.peerCount };
  }

  async sweep(now: number, ttlMs: number): Promise<number> {
    const cutoff = now - ttlMs;
    let removed = 0;
    for (const [hash, swarm] of this.swarms) {
      for (const e of swarm.peers.values()) {
        if (e.lastSeen < cutoff) {
          swarm.remove(e);
          removed++;
        }
      }
      if (swarm.peers.size === 0) this.swarms.delete(hash);
    }
    this.peerCount -= removed;
    return removed;
  }

  async close(): Promise<void> {
    this.swarms.clear();
    this.peerCount = 0;
  }
}

/**
 * The swarm store of one tracker worker when several share the listening sockets: the
 * swarms are split by info-hash into one partition per worker, and each worker keeps only
 * its own (a MemorySwarmStore). The kernel hands a connection or datagram to any worker;
 * an announce for a swarm this worker owns is answered from memory at once (`announceNow`),
 * one for another worker's swarm is sent to that worker (store-link.ts) and answered when
 * it replies. So a peer that announced through one worker is handed out by every other,
 * with no copy of the swarms anywhere.
 *
 * Why not a copy per worker (what this replaced): every announce was then applied by every
 * worker, so adding a worker added work per announce and 2 workers served 0.21x of one.
 * Partitioned, each announce is stored once and at most one hop away.
 */
import type { TrackerError } from '../errors.ts';
import type { MemorySwarmStore } from '../store/memory-store.ts';
import type {
  StoreAnnounce,
  StoreAnnounceResult,
  StoreStats,
  SwarmStore,
  TorrentStats,
} from '../store/swarm-store.ts';
import type { InfoHash, SwarmCounts } from '../types.ts';
import type { StoreLink } from './store-link.ts';

/**
 * Which of `partitions` owns a swarm. Real info-hashes are uniform; the first and last 32
 * bits are mixed so that made-up hashes differing only at one end (tests, benchmarks)
 * spread too.
 */
export function partitionOf(infoHash: InfoHash, partitions: number): number {
  if (partitions === 1) return 0;
  const mixed =
    (Number.parseInt(infoHash.slice(0, 8), 16) ^ Number.parseInt(infoHash.slice(32, 40), 16)) >>> 0;
  return mixed % partitions;
}

/** `partitionOf` of the 20 info-hash bytes at `at` of `bytes` (a datagram not yet decoded). */
export function partitionOfBytes(bytes: Uint8Array, at: number, partitions: number): number {
  if (partitions === 1) return 0;
  const u32 = (i: number) =>
    ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) >>> 0;
  return ((u32(at) ^ u32(at + 16)) >>> 0) % partitions;
}

export class PartitionedStore implements SwarmStore {
  private readonly partitions: number;

  /**
   * `links[i]` reaches the owner of partition i; `links[self]` is null (that one is `local`).
   */
  constructor(
    private readonly local: MemorySwarmStore,
    private readonly self: number,
    private readonly links: readonly (StoreLink | null)[],
  ) {
    this.partitions = links.length;
  }

  /** Answers at once for this worker's swarms; undefined for another's (use `announce`). */
  announceNow(a: StoreAnnounce): StoreAnnounceResult | TrackerError | undefined {
    const owner = partitionOf(a.infoHash, this.partitions);
    return owner === this.self ? this.local.announceNow(a) : undefined;
  }

  async announce(a: StoreAnnounce): Promise<StoreAnnounceResult | TrackerError> {
    const owner = partitionOf(a.infoHash, this.partitions);
    const link = this.links[owner];
    return link ? link.announce(a) : this.local.announceNow(a);
  }

  async scrape(infoHashes: InfoHash[]): Promise<Map<InfoHash, SwarmCounts>> {
    const byOwner = new Map<number, InfoHash[]>();
    for (const h of infoHashes) {
      const owner = partitionOf(h, this.partitions);
      const hashes = byOwner.get(owner);
      if (hashes) hashes.push(h);
      else byOwner.set(owner, [h]);
    }
    const found = new Map<InfoHash, SwarmCounts>();
    await Promise.all(
      [...byOwner].map(async ([owner, hashes]) => {
        const link = this.links[owner];
        const part = link
          ? await link.call<[InfoHash, SwarmCounts][]>({ op: 'scrape', hashes })
          : this.local.scrapeNow(hashes);
        for (const [h, counts] of part) found.set(h, counts);
      }),
    );
    // In the order asked, as a single store answers.
    const out = new Map<InfoHash, SwarmCounts>();
    for (const h of infoHashes) out.set(h, found.get(h) ?? { complete: 0, incomplete: 0, downloaded: 0 });
    return out;
  }

  async torrents(limit: number): Promise<TorrentStats[]> {
    const parts = await Promise.all(
      this.links.map((link) =>
        link ? link.call<TorrentStats[]>({ op: 'torrents', limit }) : this.local.torrents(limit),
      ),
    );
    const all = parts.flat();
    all.sort((x, y) => y.complete + y.incomplete - (x.complete + x.incomplete));
    return all.slice(0, limit);
  }

  async stats(): Promise<StoreStats> {
    const parts = await Promise.all(
      this.links.map((link) => (link ? link.call<StoreStats>({ op: 'stats' }) : this.local.stats())),
    );
    return {
      torrents: parts.reduce((n, p) => n + p.torrents, 0),
      peers: parts.reduce((n, p) => n + p.peers, 0),
    };
  }

  /** Each worker sweeps its own partition. */
  sweep(now: number, ttlMs: number): Promise<number> {
    return this.local.sweep(now, ttlMs);
  }

  async close(): Promise<void> {
    for (const link of this.links) link?.close();
    await this.local.close();
  }
}

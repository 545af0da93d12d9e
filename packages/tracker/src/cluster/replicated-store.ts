/**
 * The in-memory store of one tracker worker when several share the listening sockets.
 * The kernel hands each connection or datagram to any worker, so every worker keeps the
 * whole swarm state: it answers from its own copy at memory speed, and the announces it
 * accepted are copied to the other workers in batches (one message every 10 ms, not
 * one per announce; see worker.ts and batch-codec.ts). A peer that announced to one worker is therefore handed
 * out by every worker within a batch interval and the primary's relay; counts converge the same
 * way. Each worker sweeps its own copy with the same TTL and the replicated `lastSeen`, so
 * the copies expire the same peers.
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

export class ReplicatedStore implements SwarmStore {
  constructor(
    private readonly inner: MemorySwarmStore,
    /** Told each announce this worker accepted (the worker sends them in batches). */
    private readonly accepted: (a: StoreAnnounce) => void,
  ) {}

  announceNow(a: StoreAnnounce): StoreAnnounceResult | TrackerError {
    const result = this.inner.announceNow(a);
    if (!('error' in result)) this.accepted(a);
    return result;
  }

  /** Applies another worker's announces (numwant 0): the same state change, no peers picked. */
  apply(batch: readonly StoreAnnounce[]): void {
    for (const a of batch) this.inner.announceNow(a);
  }

  /** This copy's peers, for a worker that starts empty. */
  dump(ttlMs: number): Iterable<StoreAnnounce> {
    return this.inner.dump(ttlMs);
  }

  async announce(a: StoreAnnounce): Promise<StoreAnnounceResult | TrackerError> {
    return this.announceNow(a);
  }

  scrape(infoHashes: InfoHash[]): Promise<Map<InfoHash, SwarmCounts>> {
    return this.inner.scrape(infoHashes);
  }

  torrents(limit: number): Promise<TorrentStats[]> {
    return this.inner.torrents(limit);
  }

  stats(): Promise<StoreStats> {
    return this.inner.stats();
  }

  sweep(now: number, ttlMs: number): Promise<number> {
    return this.inner.sweep(now, ttlMs);
  }

  async close(): Promise<void> {
    await this.inner.close();
  }
}

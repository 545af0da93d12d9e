/**
 * A tracker: the core, its store and counters, and the pieces every transport shares
 * (limits, connection ids, the WebSocket relay). Creating one starts nothing; `start()`
 * begins the expiry sweep, `close()` stops it and releases the store.
 */
import { randomBytes } from 'node:crypto';
import { type Clock, systemClock } from '@swarmcast/platform';
import { type ConnectionIds, connectionIds } from './codec/connection-id.ts';
import { type CodecLimits, defaultCodecLimits } from './codec/limits.ts';
import type { TrackerAccess } from './core/access.ts';
import { TrackerMetrics } from './core/metrics.ts';
import { AddressRateLimiter, type RateRule } from './core/rate-limit.ts';
import { type AnnounceObserver, defaultIntervals, type Intervals, TrackerCore } from './core/tracker-core.ts';
import { WsRelay, type WsRelayOptions } from './server/ws-relay.ts';
import { MemorySwarmStore } from './store/memory-store.ts';
import type { SwarmStore } from './store/swarm-store.ts';

export interface TrackerOptions {
  /** Defaults to an in-memory store. */
  store?: SwarmStore;
  clock?: Clock;
  /** Private mode when given. */
  access?: TrackerAccess | null;
  /** Per-address limit on announces and scrapes; null or perSecond 0 disables it. */
  rateLimit?: RateRule | null;
  intervals?: Partial<Intervals>;
  limits?: Partial<CodecLimits>;
  /** Receives every accepted announce (the fact publisher). */
  observer?: AnnounceObserver | null;
  /** 16-byte key for UDP connection ids; random per process by default. */
  udpSecret?: Uint8Array;
  /** How often expired peers are swept. */
  sweepEveryMs?: number;
  ws?: WsRelayOptions;
}

/** Swarms listed by `/stats`, and how long one answer is reused. */
export const statsTop = 100;
export const statsCacheMs = 5000;

/** 20 announces per second sustained, bursts of 200: room for a NAT full of clients. */
export const defaultRateLimit: RateRule = { perSecond: 20, burst: 200 };

export interface TorrentStatsJson {
  infoHash: string;
  seeders: number;
  leechers: number;
  completed: number;
}

export class Tracker {
  readonly core: TrackerCore;
  readonly metrics = new TrackerMetrics();
  readonly limits: CodecLimits;
  readonly clock: Clock;
  readonly connectionIds: ConnectionIds;
  readonly store: SwarmStore;
  readonly ws: WsRelay;
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly sweepEveryMs: number;

  constructor(options: TrackerOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.store = options.store ?? new MemorySwarmStore();
    this.limits = { ...defaultCodecLimits, ...options.limits };
    this.connectionIds = connectionIds(options.udpSecret ?? randomBytes(16));
    const rule = options.rateLimit === undefined ? defaultRateLimit : options.rateLimit;
    this.core = new TrackerCore({
      store: this.store,
      clock: this.clock,
      metrics: this.metrics,
      intervals: { ...defaultIntervals, ...options.intervals },
      access: options.access ?? null,
      rateLimiter: rule && rule.perSecond > 0 ? new AddressRateLimiter(rule) : null,
      observer: options.observer ?? null,
    });
    this.sweepEveryMs = options.sweepEveryMs ?? 60_000;
    this.ws = new WsRelay(this, options.ws);
  }

  /** Starts the expiry sweep. */
  start(): void {
    if (this.sweepTimer) return;
    this.sweepTimer = setInterval(() => {
      this.store.sweep(this.clock.now(), this.core.intervals.peerTtlMs).catch(() => undefined);
    }, this.sweepEveryMs);
    this.sweepTimer.unref();
  }

  /**
   * The public `/stats`: the busiest swarms (at most `statsTop`) and totals. Listing sorts
   * every swarm, so one answer is shared by every request for `statsCacheMs`: polling it
   * costs nothing more than one sort per period, whoever asks and however often.
   */
  statsJson(): Promise<{ torrents: TorrentStatsJson[]; peers: number; swarms: number }> {
    const now = Date.now();
    if (!this.statsCache || now - this.statsCache.at >= statsCacheMs) {
      const value = this.computeStats(statsTop);
      this.statsCache = { at: now, value };
      value.catch(() => {
        if (this.statsCache?.value === value) this.statsCache = undefined;
      });
    }
    return this.statsCache.value;
  }

  private statsCache:
    | { at: number; value: Promise<{ torrents: TorrentStatsJson[]; peers: number; swarms: number }> }
    | undefined;

  private async computeStats(
    limit: number,
  ): Promise<{ torrents: TorrentStatsJson[]; peers: number; swarms: number }> {
    const [list, totals] = await Promise.all([this.store.torrents(limit), this.store.stats()]);
    return {
      swarms: totals.torrents,
      peers: totals.peers,
      torrents: list.map((t) => ({
        infoHash: t.infoHash,
        seeders: t.complete,
        leechers: t.incomplete,
        completed: t.downloaded,
      })),
    };
  }

  async metricsText(): Promise<string> {
    return this.metrics.render(await this.store.stats(), this.ws.size);
  }

  async close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    this.ws.close();
    await this.store.close();
  }
}

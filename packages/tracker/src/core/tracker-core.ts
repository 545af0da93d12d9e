/**
 * The one core every dialect calls: announce and scrape against a SwarmStore, with the
 * rate limit, private-mode checks and fact observation applied the same way for HTTP, UDP
 * and WebSocket. It holds no socket and starts no timer; see tracker.ts for the wiring.
 */
import type { Clock } from '@swarmcast/platform';
import { compactPeer } from '../codec/address.ts';
import { toHex } from '../codec/numbers.ts';
import { type TrackerError, trackerError } from '../errors.ts';
import type { StoreAnnounce, StoreAnnounceResult, SwarmStore } from '../store/swarm-store.ts';
import type { AnnounceRequest, AnnounceResult, PeerRecord, ScrapeRequest, ScrapeResult } from '../types.ts';
import type { TrackerAccess } from './access.ts';
import type { TrackerMetrics } from './metrics.ts';
import type { AddressRateLimiter } from './rate-limit.ts';

/** What the core tells the fact publisher about each announce (inside the process only). */
export interface AnnounceObservation {
  time: number;
  request: AnnounceRequest;
  uploadedDelta: number;
  downloadedDelta: number;
}

export interface AnnounceObserver {
  /** Called synchronously after each accepted announce; must not throw or block. */
  observe(o: AnnounceObservation): void;
}

export interface Intervals {
  /** Seconds between regular announces (HTTP and UDP). */
  interval: number;
  minInterval: number;
  /** Seconds between WebSocket announces (WebTorrent's default is 2 minutes). */
  wsInterval: number;
  /** A peer silent for this long (ms) is dropped. */
  peerTtlMs: number;
}

export const defaultIntervals: Intervals = {
  interval: 600,
  minInterval: 60,
  wsInterval: 120,
  peerTtlMs: 1_260_000,
};

export interface TrackerCoreOptions {
  store: SwarmStore;
  clock: Clock;
  metrics: TrackerMetrics;
  intervals?: Intervals;
  /** Private mode when given: passkeys required, allow-list enforced, ratios credited. */
  access?: TrackerAccess | null;
  rateLimiter?: AddressRateLimiter | null;
  observer?: AnnounceObserver | null;
}

/** The identity of a peer inside its swarm. */
export function peerKeyOf(request: AnnounceRequest): string {
  return request.transport === 'ws' ? toHex(request.peerId) : `${request.ip}|${request.port}`;
}

/** An announce's answer, or why it was refused. */
export type AnnounceOutcome = AnnounceResult | TrackerError;

export class TrackerCore {
  readonly intervals: Intervals;
  private readonly store: SwarmStore;
  private readonly clock: Clock;
  private readonly metrics: TrackerMetrics;
  private readonly access: TrackerAccess | null;
  private readonly limiter: AddressRateLimiter | null;
  private readonly observer: AnnounceObserver | null;

  constructor(options: TrackerCoreOptions) {
    this.store = options.store;
    this.clock = options.clock;
    this.metrics = options.metrics;
    this.intervals = options.intervals ?? defaultIntervals;
    this.access = options.access ?? null;
    this.limiter = options.rateLimiter ?? null;
    this.observer = options.observer ?? null;
  }

  get privateMode(): boolean {
    return this.access !== null;
  }

  private refuse(error: TrackerError): TrackerError {
    this.metrics.error(error.error);
    return error;
  }

  /** Rate limit, then private-mode admission; null when the request may proceed. */
  private async admit(
    ip: string,
    passkey: string | null,
    infoHashes: readonly string[],
    now: number,
  ): Promise<{ account: string | null } | TrackerError> {
    if (this.limiter && !this.limiter.allow(ip, now)) return this.refuse(trackerError('TRK_RATE_LIMITED'));
    if (!this.access) return { account: null };
    const account = passkey ? await this.access.accountFor(passkey) : null;
    if (!account) return this.refuse(trackerError('TRK_UNKNOWN_PASSKEY'));
    for (const h of infoHashes) {
      if (!(await this.access.isRegistered(h as AnnounceRequest['infoHash']))) {
        return this.refuse(trackerError('TRK_NOT_REGISTERED'));
      }
    }
    return { account };
  }

  async announce(request: AnnounceRequest): Promise<AnnounceResult | TrackerError> {
    return this.announceSoon(request);
  }

  /**
   * The same as `announce`, answered synchronously when it can be: a public tracker whose
   * store answers at once (memory, or a cluster worker's own swarm). The UDP server
   * calls this so that the common announce costs no promise and no microtask hops
   * (an async function per layer was two promises and their jobs per announce, GC
   * included); a private tracker (passkeys, allow-list, credits) or a store that must be
   * asked over the network (Redis, another worker) gives a promise as before.
   */
  announceSoon(request: AnnounceRequest): AnnounceOutcome | Promise<AnnounceOutcome> {
    const now = this.clock.now();
    if (this.access) return this.announcePrivate(request, now);
    if (this.limiter && !this.limiter.allow(request.ip, now))
      return this.refuse(trackerError('TRK_RATE_LIMITED'));
    return this.store_(request, null, now);
  }

  private async announcePrivate(request: AnnounceRequest, now: number): Promise<AnnounceOutcome> {
    const admitted = await this.admit(request.ip, request.passkey, [request.infoHash], now);
    if ('error' in admitted) return admitted;
    return this.store_(request, admitted.account, now);
  }

  /** Records the announce in the store: at once when the store can, else through its promise. */
  private store_(
    request: AnnounceRequest,
    account: string | null,
    now: number,
  ): AnnounceOutcome | Promise<AnnounceOutcome> {
    let peer: PeerRecord;
    if (request.transport === 'ws') {
      peer = { kind: 'ws', compact: new Uint8Array(0), peerId: request.peerId };
    } else {
      const compact = compactPeer(request.ip, request.port);
      if (!compact) return this.refuse(trackerError('TRK_BAD_PORT'));
      peer = { kind: 'tcp', compact, peerId: request.peerId };
    }
    const a: StoreAnnounce = {
      infoHash: request.infoHash,
      peerKey: peerKeyOf(request),
      peer,
      seeder: request.left === 0,
      event: request.event,
      uploaded: request.uploaded,
      downloaded: request.downloaded,
      numwant: request.event === 'stopped' ? 0 : request.numwant,
      packed: request.transport !== 'ws' && request.compact,
      now,
      ttlMs: this.intervals.peerTtlMs,
    };
    let stored: StoreAnnounceResult | TrackerError | undefined;
    let later: Promise<StoreAnnounceResult | TrackerError> | undefined;
    try {
      stored = this.store.announceNow?.(a);
      if (stored === undefined) later = this.store.announce(a);
    } catch {
      return this.refuse(trackerError('TRK_STORE_UNAVAILABLE'));
    }
    if (!later) return this.stored(request, account, now, stored!);
    return later.then(
      (result) => this.stored(request, account, now, result),
      () => this.refuse(trackerError('TRK_STORE_UNAVAILABLE')),
    );
  }

  /** Deltas, private-mode credit, metrics and the fact, then the answer. */
  private stored(
    request: AnnounceRequest,
    account: string | null,
    now: number,
    stored: StoreAnnounceResult | TrackerError,
  ): AnnounceOutcome | Promise<AnnounceOutcome> {
    if ('error' in stored) return this.refuse(stored);
    // A counter that went backwards (a client restart) counts from zero again.
    const prev = stored.previous;
    const uploadedDelta =
      prev && request.uploaded >= prev.uploaded ? request.uploaded - prev.uploaded : request.uploaded;
    const downloadedDelta =
      prev && request.downloaded >= prev.downloaded
        ? request.downloaded - prev.downloaded
        : request.downloaded;
    if (this.access && account && (uploadedDelta > 0 || downloadedDelta > 0)) {
      return this.access
        .credit(account, uploadedDelta, downloadedDelta)
        .catch(() => undefined)
        .then(() => this.answer(request, now, stored, uploadedDelta, downloadedDelta));
    }
    return this.answer(request, now, stored, uploadedDelta, downloadedDelta);
  }

  private answer(
    request: AnnounceRequest,
    now: number,
    stored: StoreAnnounceResult,
    uploadedDelta: number,
    downloadedDelta: number,
  ): AnnounceResult {
    this.metrics.announces[request.transport]++;
    const prev = stored.previous;
    this.observer?.observe({
      time: now,
      request,
      uploadedDelta: prev ? uploadedDelta : 0,
      downloadedDelta: prev ? downloadedDelta : 0,
    });
    const ws = request.transport === 'ws';
    return {
      complete: stored.complete,
      incomplete: stored.incomplete,
      downloaded: stored.downloaded,
      interval: ws ? this.intervals.wsInterval : this.intervals.interval,
      minInterval: ws ? this.intervals.wsInterval : this.intervals.minInterval,
      peers: stored.peers,
      packed: stored.packed ?? null,
    };
  }

  /**
   * Removes a peer without an announce from it (a WebSocket that closed): no rate limit,
   * no fact, since the client said nothing.
   */
  async leave(request: AnnounceRequest): Promise<void> {
    await this.store
      .announce({
        infoHash: request.infoHash,
        peerKey: peerKeyOf(request),
        peer: {
          kind: request.transport === 'ws' ? 'ws' : 'tcp',
          compact: new Uint8Array(0),
          peerId: request.peerId,
        },
        seeder: request.left === 0,
        event: 'stopped',
        uploaded: request.uploaded,
        downloaded: request.downloaded,
        numwant: 0,
        now: this.clock.now(),
        ttlMs: this.intervals.peerTtlMs,
      })
      .catch(() => undefined);
  }

  async scrape(request: ScrapeRequest): Promise<ScrapeResult | TrackerError> {
    const now = this.clock.now();
    const admitted = await this.admit(request.ip, request.passkey, request.infoHashes, now);
    if ('error' in admitted) return admitted;
    try {
      const files = await this.store.scrape(request.infoHashes);
      this.metrics.scrapes[request.transport]++;
      return { files };
    } catch {
      return this.refuse(trackerError('TRK_STORE_UNAVAILABLE'));
    }
  }
}

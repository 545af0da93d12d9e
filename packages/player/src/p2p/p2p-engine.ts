/**
 * The swarm engine of one episode, in the page: a TorrentSession whose peers are WebRTC data
 * channels met through the node's WebSocket tracker, the origin as web seed over fetch, and
 * a bounded memory cache. It serves byte ranges of the episode's media file to the Service
 * Worker (`read`) and decides where each missing piece comes from:
 *
 * 1. Urgent pieces come from the web seed at once: those covering the first `urgentSeconds`
 *    after the position of the latest read (start of playback, or a seek) and after the
 *    playhead. That keeps the first frame as fast as plain HTTP.
 * 2. Everything else is left to the peers (the session asks them, soonest deadline first),
 *    until playback gets within `urgentSeconds` of it: then rule 1 takes it.
 * 3. When no peer can help (no WebRTC, the tracker counts nobody else, or no peer connected
 *    `noPeerGraceMs` after start), the web seed also reads ahead of the playhead, so
 *    playback never depends on peers.
 * Which pieces of those ranges is the engine's one web seed policy (`webSeedRuns`, the one the
 * session's own web seeds use), and each piece is reserved in the session while its request
 * runs (`reserveForWebSeed`; urgent ones are taken from peers that had asked for them), so
 * the web seed and peers are never fetching one piece at once.
 * Pieces always go through the session (`addPiece`), so web-seeded pieces are verified and
 * offered to other listeners like any other.
 */
import {
  type Clock,
  type Hasher,
  layoutOf,
  type Metainfo,
  pieceSize,
  type Random,
  type RtcFactory,
  type StorageLayout,
  systemClock,
  systemTimers,
  type TimerHandle,
  type Timers,
  TorrentSession,
  verifierOf,
  type WebFetch,
  WebSeed,
  type WebSeedRange,
  type WebSeedRun,
  type WebSocketFactory,
  WebSocketTrackerClient,
  webSeedRuns,
  wireInfoHash,
} from '@swarmcast/bittorrent';
import { BoundedPieceStore } from './bounded-piece-store.ts';

export interface P2pEngineOptions {
  meta: Metainfo;
  hasher: Hasher;
  /** WebSocket tracker URLs (ws:// or wss://). */
  trackers: readonly string[];
  /** Web seed URLs (BEP 19), tried in order. */
  webSeeds: readonly string[];
  /** null: no WebRTC (blocked or unsupported); the web seed does everything. */
  rtc: RtcFactory | null;
  webSocket: WebSocketFactory | null;
  randomBytes: (n: number) => Uint8Array;
  fetch?: WebFetch;
  clock?: Clock;
  timers?: Timers;
  random?: Random;
  /** Media bytes per second of playback (length / duration); default 32 KB/s (256 kbit/s). */
  bytesPerSecond?: number;
  /** Seconds of media after a read position / the playhead that the web seed fetches at once. */
  urgentSeconds?: number;
  /** Memory for verified pieces (default 96 MiB). */
  maxCacheBytes?: number;
  /**
   * With no peer connected by then, the web seed reads ahead too (default 20 s; urgent bytes
   * never wait). Long enough for the tracker client's re-offers (2 s, 4 s, 8 s back-off) when a
   * first WebRTC negotiation fails on a busy machine; playback meanwhile runs on urgent bytes.
   */
  noPeerGraceMs?: number;
  /** Largest single web seed request (default 1 MiB). */
  webSeedBatchBytes?: number;
  /** Upload cap in bytes/s: undefined = none, 0 = no uploads. */
  uploadRateLimit?: number;
  onWarning?: (message: string) => void;
}

export interface EngineStats {
  peers: number;
  bytesFromPeers: number;
  bytesFromWebSeed: number;
  uploaded: number;
  piecesHeld: number;
  pieceCount: number;
  complete: boolean;
  cacheBytes: number;
}

const TICK_MS = 200;
const MAX_WEBSEED_FETCHES = 3;
const DEADLINE_AHEAD_S = 30;
/** Size of each web seed request for urgent bytes (several run side by side). */
const URGENT_REQUEST_BYTES = 128 * 1024;

/** The media file of an episode torrent: its largest file that is not padding. */
export function mediaFileOf(layout: StorageLayout): {
  offset: number;
  length: number;
  path: readonly string[];
} {
  let best = layout.files[0];
  for (const f of layout.files) if (!f.pad && (!best || best.pad || f.length > best.length)) best = f;
  if (!best || best.pad) throw new Error('the torrent has no media file');
  return { offset: best.offset, length: best.length, path: best.path };
}

export class P2pEngine {
  readonly session: TorrentSession;
  readonly layout: StorageLayout;
  /** The media file inside the torrent's piece space. */
  readonly file: { offset: number; length: number; path: readonly string[] };
  readonly #o: P2pEngineOptions;
  readonly #store: BoundedPieceStore;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #webSeeds: WebSeed[];
  #tracker: WebSocketTrackerClient | null = null;
  #tick: TimerHandle | null = null;
  #startedAt = 0;
  #closed = false;
  /** Byte of the file being played (from the media element's time). */
  #playhead = 0;
  /** Byte where the latest read began (start of playback, seek): its first seconds are urgent. */
  #seekAt = 0;
  /** Byte the latest read has reached (kept in memory, not urgent). */
  #focus = 0;
  #fromWebSeed = 0;
  #reads = 0;
  /** Other peers in the swarm by the tracker's last count (null before the first answer). */
  #othersInSwarm: number | null = null;
  readonly #inflight = new Set<number>();
  #fetches = 0;
  readonly #failedAt = new Map<number, number>();
  readonly #waiters = new Map<number, Set<() => void>>();
  #bytesPerSecond: number;

  constructor(o: P2pEngineOptions) {
    this.#o = o;
    this.#clock = o.clock ?? systemClock;
    this.#timers = o.timers ?? systemTimers;
    this.#bytesPerSecond = o.bytesPerSecond && o.bytesPerSecond > 0 ? o.bytesPerSecond : 32_000;
    this.layout = layoutOf(o.meta);
    this.file = mediaFileOf(this.layout);
    this.#store = new BoundedPieceStore(this.layout, {
      maxBytes: Math.max(o.maxCacheBytes ?? 96 * 1024 * 1024, 8 * this.layout.pieceLength),
      playheadPiece: () => this.#pieceAt(Math.min(this.#playhead, this.#focus)),
      protectedUntil: () => this.#pieceAt(Math.max(this.#playhead, this.#focus)) + 4,
    });
    this.#webSeeds = o.webSeeds.map((u) => new WebSeed(u, o.meta, o.fetch ? { fetch: o.fetch } : {}));
    const peerId = new Uint8Array(20);
    peerId.set(new TextEncoder().encode('-SC0001-'));
    peerId.set(o.randomBytes(12), 8);
    this.session = new TorrentSession({
      infoHash: wireInfoHash(o.meta),
      peerId,
      layout: this.layout,
      storage: this.#store,
      verifyPiece: verifierOf(o.meta, o.hasher),
      clock: this.#clock,
      timers: this.#timers,
      random: o.random ?? Math.random,
      // WebRTC peers arrive through the tracker client; there is no address to dial.
      dialer: {
        dial: async () => ({
          ok: false,
          error: { code: 'BT_WEBRTC_ONLY', message: 'a browser dials no addresses' },
        }),
      },
      ...(o.uploadRateLimit !== undefined ? { uploadRateLimit: o.uploadRateLimit } : {}),
    });
    if (o.uploadRateLimit !== undefined) this.session.setUploadRateLimit(o.uploadRateLimit);
    this.session.on('piece', (i) => this.#arrived(i));
    this.session.on('warning', (e) => o.onWarning?.(`${e.code} ${e.message}`));
    const url = o.trackers.find((t) => /^wss?:\/\//.test(t));
    if (o.rtc && o.webSocket && url) {
      this.#tracker = new WebSocketTrackerClient({
        url,
        infoHash: wireInfoHash(o.meta),
        peerId,
        webSocket: o.webSocket,
        signalling: { factory: o.rtc, timers: this.#timers },
        timers: this.#timers,
        randomBytes: o.randomBytes,
        stats: () => this.session.transferStats(),
        onTransport: (t) => this.session.addIncoming(t),
        onEvent: (e) => {
          // The tracker's counts include this page once it has announced.
          if (e.type === 'update') this.#othersInSwarm = Math.max(0, e.complete + e.incomplete - 1);
          if (e.type === 'warning') o.onWarning?.(`${e.error.code} ${e.error.message}`);
        },
      });
    }
  }

  async start(): Promise<void> {
    this.#startedAt = this.#clock.now();
    await this.session.start();
    this.#tracker?.start();
    this.#tick = this.#timers.setInterval(() => this.#pump(), TICK_MS);
    this.#pump();
  }

  /** True when a WebRTC tracker client runs (WebRTC available and a ws tracker listed). */
  get peerToPeer(): boolean {
    return this.#tracker !== null;
  }

  /** The playhead, in seconds of media (the media element's currentTime). */
  setPlayheadSeconds(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) return;
    this.setPlayhead(Math.min(this.file.length - 1, Math.floor(seconds * this.#bytesPerSecond)));
  }

  /** The playhead as a byte of the media file. */
  setPlayhead(byte: number): void {
    this.#playhead = Math.max(0, Math.min(byte, this.file.length - 1));
    this.#pump();
  }

  /** The media's byte rate once the duration is known (urgency is in seconds of media). */
  setDuration(seconds: number): void {
    if (Number.isFinite(seconds) && seconds > 0) this.#bytesPerSecond = this.file.length / seconds;
  }

  /** Upload cap in bytes/s: undefined = none, 0 = no uploads. */
  setUploadRateLimit(bytesPerSecond: number | undefined): void {
    this.session.setUploadRateLimit(bytesPerSecond);
  }

  stats(): EngineStats {
    const s = this.session.stats();
    return {
      peers: s.peers,
      bytesFromPeers: s.downloaded,
      bytesFromWebSeed: this.#fromWebSeed,
      uploaded: s.uploaded,
      piecesHeld: s.pieces,
      pieceCount: this.layout.pieceCount,
      complete: this.session.isDone,
      cacheBytes: this.#store.bytes,
    };
  }

  /**
   * Bytes [start, end] of the media file, in order, as they become available (one chunk per
   * piece). A new read is a new focus: its first seconds are urgent.
   */
  async *read(start: number, end: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    if (start < 0 || end >= this.file.length || end < start)
      throw new RangeError(`bad range ${start}-${end}`);
    this.#focus = start;
    this.#seekAt = start;
    const generation = ++this.#reads;
    this.#pump();
    const pl = this.layout.pieceLength;
    let at = this.file.offset + start;
    const stop = this.file.offset + end + 1;
    while (at < stop) {
      if (signal?.aborted || this.#closed) return;
      const p = Math.floor(at / pl);
      const data = await this.#piece(p, signal);
      if (!data) return;
      const to = Math.min(stop, p * pl + data.length);
      yield data.slice(at - p * pl, to - p * pl);
      at = to;
      // The newest read's position is where the media element is consuming now.
      if (generation === this.#reads) this.#focus = at - this.file.offset;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#tick?.cancel();
    for (const set of this.#waiters.values()) for (const w of set) w();
    this.#waiters.clear();
    await this.#tracker?.stop().catch(() => undefined);
    await this.session.close();
  }

  #pieceAt(fileByte: number): number {
    return Math.floor((this.file.offset + fileByte) / this.layout.pieceLength);
  }

  /** A verified piece, from the cache, or once it arrives from a peer or the web seed. */
  async #piece(p: number, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    for (;;) {
      const held = this.#store.piece(p);
      if (held) return held;
      if (this.#closed || signal?.aborted) return undefined;
      // Held by the session but evicted from memory: only the web seed will give it back.
      if (this.session.hasPiece(p) && !this.#inflight.has(p) && !this.#store.holds(p))
        void this.#fetchPieces([p], (data) => this.#restore(p, data));
      await new Promise<void>((resolve) => {
        const set = this.#waiters.get(p) ?? new Set<() => void>();
        this.#waiters.set(p, set);
        const done = () => {
          set.delete(done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        set.add(done);
        signal?.addEventListener('abort', done, { once: true });
        this.#pump();
      });
    }
  }

  #arrived(p: number): void {
    const set = this.#waiters.get(p);
    if (!set) return;
    this.#waiters.delete(p);
    for (const w of [...set]) w();
  }

  /** Decides, every tick and on events, which missing pieces the web seed fetches now. */
  #pump(): void {
    if (this.#closed || this.#startedAt === 0) return;
    const now = this.#clock.now();
    const urgentBytes = Math.max(
      this.layout.pieceLength,
      (this.#o.urgentSeconds ?? 4) * this.#bytesPerSecond,
    );
    const pl = this.layout.pieceLength;
    // Ranges of pieces the web seed should fetch now, in order. Urgent ranges go in small
    // requests side by side, so the first bytes flow early; the piece a read is waiting for
    // goes alone, so its bytes flow before the rest is in.
    const small = Math.max(1, Math.ceil(URGENT_REQUEST_BYTES / pl));
    const urgent: WebSeedRange[] = [...new Set([this.#seekAt, this.#playhead])].map((from) => ({
      first: this.#pieceAt(from),
      last: this.#pieceAt(Math.min(this.file.length - 1, from + urgentBytes - 1)),
      perRequest: small,
      urgent: true,
    }));
    const alone = this.#alone(now);
    const waited = [...this.#waiters.keys()]
      .filter((p) => alone || urgent.some((r) => p >= r.first && p <= r.last))
      .sort((a, b) => a - b)
      .map((p): WebSeedRange => ({ first: p, last: p, urgent: true }));
    const ranges = [...waited, ...urgent];
    if (alone) {
      // Read ahead from the playhead while the cache has room (memory stays bounded).
      const budget = Math.max(urgentBytes, (this.#o.maxCacheBytes ?? 96 * 1024 * 1024) / 2);
      ranges.push({
        first: this.#pieceAt(Math.min(this.#playhead, this.#focus)),
        last: this.#pieceAt(Math.min(this.file.length - 1, Math.max(this.#playhead, this.#focus) + budget)),
        perRequest: Math.ceil((this.#o.webSeedBatchBytes ?? 1024 * 1024) / pl),
      });
    }
    this.#setDeadlines(now);
    if (this.#webSeeds.length === 0) return;
    const runs = webSeedRuns(this.session.webSeedView, {
      mode: 'any',
      max: MAX_WEBSEED_FETCHES - this.#fetches,
      ranges,
      skip: (p) => this.#inflight.has(p) || now - (this.#failedAt.get(p) ?? -Infinity) < 2000,
    });
    for (const run of runs) void this.#fetchRun(run);
  }

  /**
   * No peer to wait for: no WebRTC, or the tracker says nobody else is in the swarm, or no
   * peer connected within the grace period. Then the web seed reads ahead too.
   */
  #alone(now: number): boolean {
    if (this.session.stats().peers > 0) return false;
    if (!this.#tracker) return true;
    if (this.#othersInSwarm === 0) return true;
    return now - this.#startedAt >= (this.#o.noPeerGraceMs ?? 20_000);
  }

  /** Peers are asked for the next seconds of playback first, soonest deadline first. */
  #setDeadlines(now: number): void {
    const first = this.#pieceAt(this.#playhead);
    const last = this.#pieceAt(
      Math.min(this.file.length - 1, this.#playhead + DEADLINE_AHEAD_S * this.#bytesPerSecond),
    );
    for (let p = first; p <= last; p++) {
      if (this.session.hasPiece(p)) continue;
      const lead =
        ((p * this.layout.pieceLength - this.file.offset - this.#playhead) / this.#bytesPerSecond) * 1000;
      this.session.setDeadline(p, now + Math.max(0, lead));
    }
  }

  /**
   * One range request for a run the policy chose: each piece is reserved in the session first
   * (so no peer is asked for it meanwhile; urgent ones are taken from peers), the run ends at
   * the first piece that cannot be, and every reservation is released once its piece is in.
   */
  async #fetchRun(run: WebSeedRun): Promise<void> {
    const pieces: number[] = [];
    for (let p = run.first; p < run.first + run.count; p++) {
      if (!this.session.reserveForWebSeed(p, { preempt: run.urgent })) break;
      pieces.push(p);
    }
    try {
      await this.#fetchPieces(pieces, (data, p) => this.session.addPiece(p, data));
    } finally {
      for (const p of pieces) this.session.releaseWebSeed(p);
    }
  }

  /** One range request for contiguous `pieces`; each piece's bytes go to `keep`. */
  async #fetchPieces(
    pieces: readonly number[],
    keep: (data: Uint8Array, piece: number) => Promise<boolean>,
  ): Promise<void> {
    const first = pieces[0];
    if (first === undefined || this.#webSeeds.length === 0) return;
    for (const p of pieces) this.#inflight.add(p);
    this.#fetches++;
    const pl = this.layout.pieceLength;
    const start = first * pl;
    const length = pieces.reduce((n, p) => n + pieceSize(this.layout, p), 0);
    try {
      let bytes: Uint8Array | null = null;
      for (const seed of this.#webSeeds) {
        const r = await seed.fetchRange(start, length);
        if (r.ok) {
          bytes = r.value;
          break;
        }
        this.#o.onWarning?.(`${r.error.code} ${r.error.message}`);
      }
      if (!bytes || this.#closed) {
        for (const p of pieces) this.#failedAt.set(p, this.#clock.now());
        return;
      }
      this.#fromWebSeed += bytes.length;
      for (const p of pieces) {
        const data = bytes.subarray((p - first) * pl, (p - first) * pl + pieceSize(this.layout, p));
        if (!(await keep(data, p))) {
          this.#failedAt.set(p, this.#clock.now());
          this.#o.onWarning?.(`web seed piece ${p} failed verification`);
        }
        // An evicted piece put back in the cache emits no session event.
        if (this.#store.holds(p)) this.#arrived(p);
      }
    } finally {
      this.#fetches--;
      for (const p of pieces) this.#inflight.delete(p);
    }
  }

  /** Puts an evicted piece back in the cache after checking it. */
  async #restore(p: number, data: Uint8Array): Promise<boolean> {
    if (!(await verifierOf(this.#o.meta, this.#o.hasher)(p, data))) return false;
    await this.#store.write(p * this.layout.pieceLength, data);
    return true;
  }
}

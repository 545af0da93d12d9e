import type { PeerSource } from '../discovery/peer-source.ts';
import { RateMeter } from '../peer/rate-meter.ts';
import { pieceSize, type StorageLayout } from '../storage/layout.ts';
import type { Storage } from '../storage/storage.ts';
import type { TimerHandle } from '../timers.ts';
import { codedError, type PeerAddress, type Transport } from '../transport.ts';
import { Downloader } from './downloader.ts';
import { Emitter } from './emitter.ts';
import { HolepunchRelay } from './holepunch-relay.ts';
import { peerEventHandlers } from './peer-event-handlers.ts';
import { PeerInterest } from './peer-interest.ts';
import { PeerLifecycle } from './peer-lifecycle.ts';
import { defaultPeerSetLimits, PeerSet } from './peer-set.ts';
import { PieceCompletion } from './piece-completion.ts';
import { PieceVerification } from './piece-verification.ts';
import { RechokeSchedule } from './rechoke-schedule.ts';
import { findVerifiedPieces } from './resume.ts';
import type { SessionEvents, SessionStats, TorrentSessionOptions } from './session-types.ts';
import type { SwarmPeer } from './swarm-peer.ts';
import { Uploader } from './uploader.ts';
import { WebSeedDownloads } from './web-seed-downloads.ts';
import type { WebSeedMode, WebSeedView } from './web-seed-policy.ts';

export type { SessionEvents, SessionStats, TorrentSessionOptions } from './session-types.ts';

const TICK_MS = 1000;
const RECHOKE_EVERY = 10;
/** How long web seeds wait for peers after start when peers are known. */
const WEBSEED_GRACE_MS = 5_000;
/** Longest `close` waits for the sources (a tracker's `stopped` is bounded at 5 s by default). */
const SOURCES_STOP_MS = 6_000;

/**
 * One torrent in a swarm: connects peers, downloads and verifies pieces, uploads to others.
 * Everything from the environment is injected (clock, timers, random, dialer, storage), so the
 * simulation drives it in virtual time. This class is the handle and the wiring; the parts,
 * one concern each, live beside it: `PeerLifecycle` (connect, accept, drop, ban),
 * `peerEventHandlers` (a peer's wire events), `PeerInterest`, `RechokeSchedule` (the choker),
 * `PieceCompletion` (verify, store, announce, done), `Downloader` (requests), `Uploader`
 * (serving), `WebSeedDownloads`, `HolepunchRelay` (BEP 55) and `PeerSet` (whom to dial).
 */
export class TorrentSession extends Emitter<SessionEvents> {
  private readonly peerSet: PeerSet;
  private readonly downloader: Downloader;
  private readonly uploader: Uploader;
  private readonly lifecycle: PeerLifecycle;
  private readonly completion: PieceCompletion;
  private readonly rechoke: RechokeSchedule;
  private readonly interest: PeerInterest;
  private readonly webSeeds: WebSeedDownloads | undefined;
  private readonly webRate = new RateMeter();
  private readonly sources: PeerSource[] = [];
  /** Sources still running (after `close`: sending their `stopped`), awaited by `close`. */
  private readonly running = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly wanted: (piece: number) => boolean;
  private wantedCount = 0;
  private downloadedBytes = 0;
  private uploadedBytes = 0;
  private timer: TimerHandle | undefined;
  private ticks = 0;
  private started = false;
  private closed = false;
  private startedAt = 0;
  /** Some source (tracker, DHT, PEX, the user) gave us an address. */
  private peersKnown = false;

  constructor(private readonly options: TorrentSessionOptions) {
    super();
    const { layout, clock, timers } = options;
    const isClosed = () => this.closed;
    const later = (fn: () => void, ms: number) => {
      timers.setTimeout(() => {
        if (!this.closed) fn();
      }, ms);
    };
    this.wanted = options.wanted ?? (() => true);
    this.peerSet = new PeerSet({ ...defaultPeerSetLimits, ...options.limits });
    this.downloader = new Downloader(layout, {
      random: options.random,
      onPieceComplete: (index, data, from) => void this.completion.complete(index, data, from),
      onViolation: (peer, code, message) => this.lifecycle.drop(peer, codedError(code, message), false),
    });
    const downloader = this.downloader;
    this.uploader = new Uploader(layout, () => this.options.storage, {
      have: (i) => downloader.state.hasPiece(i),
      now: () => clock.now(),
      ...(options.uploadRateLimit ? { rateLimit: options.uploadRateLimit } : {}),
      ...(options.sendBuffer ? { sendBuffer: options.sendBuffer } : {}),
      later,
      onSent: (n) => {
        this.uploadedBytes += n;
      },
      onViolation: (peer, code, message) => this.lifecycle.drop(peer, codedError(code, message), false),
      onError: (err) =>
        this.emit('warning', codedError('BT_STORAGE_IO', `upload read failed: ${String(err)}`, err)),
    });
    const peers = new Map<string, SwarmPeer>();
    this.interest = new PeerInterest(downloader, () => this.completion.finished);
    this.rechoke = new RechokeSchedule({
      peers,
      uploader: this.uploader,
      clock,
      timers,
      random: options.random,
      slots: options.uploadSlots ?? 4,
      seeding: () => this.completion.finished,
      closed: isClosed,
    });
    const holepunch = options.holepunch
      ? new HolepunchRelay({
          peers,
          dialer: options.dialer,
          clock,
          signal: this.abort.signal,
          attach: (transport, dialed) => this.lifecycle.attach(transport, dialed),
          event: (kind, address, other) => this.emit('holepunch', kind, address, other),
          closed: isClosed,
        })
      : undefined;
    this.lifecycle = new PeerLifecycle({
      options,
      peers,
      peerSet: this.peerSet,
      downloader,
      rechoke: this.rechoke,
      haveBits: () => this.completion.haveBits,
      eventsFor: (peer) =>
        peerEventHandlers(peer, {
          pieceCount: layout.pieceCount,
          clock,
          peers,
          downloader,
          uploader: this.uploader,
          interest: this.interest,
          rechoke: this.rechoke,
          holepunch,
          drop: (p, reason) => this.lifecycle.drop(p, reason, false),
          addPeers: (found) => this.addPeers(found),
          downloaded: (n) => {
            this.downloadedBytes += n;
          },
          closed: isClosed,
        }),
      dialFailed: (address) => holepunch?.dialFailed(address),
      peerConnected: (key) => this.emit('peerConnected', key),
      peerClosed: (key, reason) => this.emit('peerClosed', key, reason),
      closed: isClosed,
      signal: this.abort.signal,
    });
    this.completion = new PieceCompletion({
      layout,
      storage: options.storage,
      verifyPiece: options.verifyPiece,
      downloader,
      uploader: this.uploader,
      verification: new PieceVerification(options.verifyPiece),
      peers,
      interest: this.interest,
      ban: (key, reason) => this.lifecycle.ban(key, reason),
      piece: (index) => this.emit('piece', index),
      peerBanned: (key, reason) => this.emit('peerBanned', key, reason),
      warning: (e) => this.emit('warning', e),
      done: () => this.emit('done'),
      completed: () => {
        for (const source of this.sources) source.completed?.();
      },
      downloadedBytes: () => this.downloadedBytes,
      closed: isClosed,
    });
    this.webSeeds = options.webSeeds?.length
      ? new WebSeedDownloads(options.webSeeds, {
          view: downloader.webSeedView,
          reserve: (piece) => downloader.reserveForWebSeed(piece, false, peers.values()),
          release: (piece) => downloader.releaseWebSeed(piece),
          mode: () => this.webSeedMode(),
          complete: (index, data) => {
            this.downloadedBytes += data.length;
            this.webRate.add(data.length, clock.now());
            return this.completion.complete(index, data, []);
          },
          warning: (e) => this.emit('warning', e),
          now: () => clock.now(),
          later,
          signal: this.abort.signal,
        })
      : undefined;
  }

  /**
   * Checks what is already in storage (resume), then starts connecting and transferring.
   * Resolves once the resume check is done.
   */
  async start(): Promise<void> {
    if (this.started) throw new Error('TorrentSession.start called twice');
    this.started = true;
    const { layout, storage } = this.options;
    const state = this.downloader.state;
    for (let p = 0; p < layout.pieceCount; p++) {
      if (!this.wanted(p)) state.setWanted(p, false);
      else this.wantedCount++;
    }
    await storage.open();
    const found = await findVerifiedPieces(layout, storage, this.options.verifyPiece, {
      signal: this.abort.signal,
      ...(this.options.dataVerified ? { trustPresent: true } : {}),
    });
    for (const p of found) this.completion.markVerified(p, false);
    if (this.closed) return;
    this.startedAt = this.options.clock.now();
    this.timer = this.options.timers.setInterval(() => this.tick(), TICK_MS);
    for (const source of this.sources) this.runSource(source);
    this.completion.checkDone();
    this.tick();
  }

  /**
   * Runs a peer source (tracker, DHT) until the session closes; its addresses are dialled.
   * Sources added before `start` run from `start`.
   */
  addPeerSource(source: PeerSource): void {
    this.sources.push(source);
    if (this.started && !this.closed) this.runSource(source);
  }

  private runSource(source: PeerSource): void {
    const run = source
      .run(
        {
          peers: (found) => this.addPeers(found),
          warning: (e) => this.emit('warning', codedError(e.code, `${source.name}: ${e.message}`)),
        },
        this.abort.signal,
      )
      .catch((err) =>
        this.emit('warning', codedError('BT_SESSION_SOURCE', `${source.name} failed: ${String(err)}`, err)),
      )
      .finally(() => this.running.delete(run));
    this.running.add(run);
  }

  /** What trackers are told: bytes moved and bytes still missing. */
  transferStats(): { uploaded: number; downloaded: number; left: number } {
    let left = 0;
    const { layout } = this.options;
    for (let p = 0; p < layout.pieceCount; p++)
      if (this.downloader.state.wants(p)) left += pieceSize(layout, p);
    return { uploaded: this.uploadedBytes, downloaded: this.downloadedBytes, left };
  }

  /** Addresses to try (tracker, DHT, PEX, the user). */
  addPeers(addresses: readonly PeerAddress[]): void {
    if (addresses.length > 0) this.peersKnown = true;
    this.peerSet.add(addresses, this.options.clock.now());
    if (this.started && !this.closed) this.lifecycle.dialSome();
  }

  /** An incoming connection for this torrent (the handshake not read yet). */
  addIncoming(transport: Transport): void {
    this.lifecycle.addIncoming(transport);
  }

  /** Incoming connections refused by the caps (`maxIncoming`, `maxPerAddress`). */
  get incomingRefused(): number {
    return this.lifecycle.incomingRefused;
  }

  /** True when piece `index` is verified and stored. */
  hasPiece(index: number): boolean {
    return this.downloader.state.hasPiece(index);
  }

  /**
   * Streaming: asks for `piece` before the others, soonest deadline first (milliseconds on
   * the session clock); `undefined` clears it.
   */
  setDeadline(piece: number, deadline: number | undefined): void {
    this.downloader.state.setDeadline(piece, deadline);
  }

  /** Pieces with a deadline still missing, soonest first. */
  deadlinePieces(): readonly number[] {
    return this.downloader.state.deadlinePieces();
  }

  /**
   * A whole piece from outside the swarm (a web seed fetched by the caller). It is verified
   * like any peer's piece, stored, and announced to the peers; blocks of it still in flight
   * from peers are dropped as late. Resolves false when it failed its hash (nobody is blamed:
   * the caller chose the source) or could not be stored.
   */
  addPiece(index: number, data: Uint8Array): Promise<boolean> {
    return this.completion.add(index, data);
  }

  /**
   * The piece state as the web seed policy (`webSeedRuns`) reads it, for a caller that runs
   * its own web seed (the player): the same policy and reservations as the session's.
   */
  get webSeedView(): WebSeedView {
    return this.downloader.webSeedView;
  }

  /**
   * Holds `piece` for the caller's web seed fetch: no peer is asked for it until
   * `releaseWebSeed`, so peers and the web seed never fetch it at once. False when it is not
   * wanted, already held, or peers are fetching it; with `preempt` (playback waits for it)
   * the peers' requests for it are cancelled instead. Pass what arrives to `addPiece`, then
   * release it.
   */
  reserveForWebSeed(piece: number, options: { preempt?: boolean } = {}): boolean {
    if (this.closed) return false;
    return this.downloader.reserveForWebSeed(piece, options.preempt === true, this.lifecycle.peers.values());
  }

  /** The caller's web seed fetch of `piece` ended (stored, failed or abandoned). */
  releaseWebSeed(piece: number): void {
    this.downloader.releaseWebSeed(piece);
  }

  /** Changes the upload cap while running (bytes/s over all peers; undefined = none; 0 = no uploads). */
  setUploadRateLimit(bytesPerSecond: number | undefined): void {
    this.uploader.setRateLimit(bytesPerSecond);
  }

  /** The 20-byte id of the torrent on the wire. */
  get infoHash(): Uint8Array {
    return this.options.infoHash;
  }

  get isDone(): boolean {
    return this.completion.finished;
  }

  get layout(): StorageLayout {
    return this.options.layout;
  }

  get storage(): Storage {
    return this.options.storage;
  }

  stats(): SessionStats {
    let down = this.webRate.rate(this.options.clock.now());
    let up = 0;
    for (const p of this.lifecycle.peers.values()) {
      down += p.link.downloadRate();
      up += p.link.uploadRate();
    }
    return {
      pieces: this.downloader.state.completed,
      wantedPieces: this.wantedCount,
      verifiedBytes: this.completion.verifiedBytes,
      downloaded: this.downloadedBytes,
      uploaded: this.uploadedBytes,
      downloadRate: down,
      uploadRate: up,
      peers: this.lifecycle.peers.size,
      banned: this.peerSet.bannedCount,
      webSeeds: this.webSeeds?.active ?? 0,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    this.timer?.cancel();
    this.lifecycle.closeAll();
    await this.options.storage.flush().catch(() => {});
    await this.options.storage.close().catch(() => {});
    await this.sourcesStopped();
  }

  /**
   * Waits (at most SOURCES_STOP_MS) for the sources to end: a tracker sends its `stopped` once
   * the session is aborted, and a caller that exits the process right after `close` (the CLI, a
   * child process) would otherwise leave this peer in the tracker's swarm until it times out.
   */
  private async sourcesStopped(): Promise<void> {
    if (this.running.size === 0) return;
    let timer: TimerHandle | undefined;
    await Promise.race([
      Promise.allSettled([...this.running]),
      new Promise<void>((r) => {
        timer = this.options.timers.setTimeout(r, SOURCES_STOP_MS);
      }),
    ]);
    timer?.cancel();
  }

  private tick(): void {
    if (this.closed) return;
    const now = this.options.clock.now();
    this.ticks++;
    for (const peer of this.lifecycle.peers.values()) {
      this.interest.update(peer);
      this.downloader.fill(peer);
    }
    if (this.ticks % RECHOKE_EVERY === 1) this.rechoke.run(now);
    this.lifecycle.dialSome();
    if (!this.completion.finished) this.webSeeds?.pump();
  }

  /**
   * Web seeds wait while peers are known and the session is young (an origin behind the web
   * seed is what the swarm should offload), then take what no peer has, or anything while no
   * peer serves us. With no peer and no source of peers (tracker, DHT) they start at once.
   */
  private webSeedMode(): WebSeedMode {
    const peers = this.lifecycle.peers;
    if (peers.size === 0 && !this.peersKnown && this.sources.length === 0) return 'any';
    if (this.options.clock.now() - this.startedAt < WEBSEED_GRACE_MS) return 'none';
    for (const p of peers.values()) if (!p.link.peerChoking && p.link.amInterested) return 'missing';
    return 'any';
  }
}

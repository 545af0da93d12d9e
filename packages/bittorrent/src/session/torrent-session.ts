import { bytesEqual } from '../bytes.ts';
import { type ChokerState, INITIAL_CHOKER_STATE, unchokeOrder } from '../choker/unchoke-order.ts';
import type { PeerSource } from '../discovery/peer-source.ts';
import type { HashServer } from '../extensions/bep-0052-hashes.ts';
import { HOLEPUNCH_ERRORS, type HolepunchMessage } from '../extensions/ut-holepunch.ts';
import { PeerConnectionLink } from '../peer/peer-connection-link.ts';
import { RateMeter } from '../peer/rate-meter.ts';
import { pieceSize, requestablePieceSize, type StorageLayout } from '../storage/layout.ts';
import type { Storage } from '../storage/storage.ts';
import type { Clock, Random, TimerHandle, Timers } from '../timers.ts';
import { type CodedError, codedError, type Dialer, type PeerAddress, type Transport } from '../transport.ts';
import { newBits, setBit } from './bits.ts';
import { Downloader } from './downloader.ts';
import { Emitter } from './emitter.ts';
import type { PeerLink } from './peer-link.ts';
import { addressKey, defaultPeerSetLimits, isLoopback, PeerSet, type PeerSetLimits } from './peer-set.ts';
import { PieceVerification, type VerifyPiece } from './piece-verification.ts';
import { findVerifiedPieces } from './resume.ts';
import { SwarmPeer } from './swarm-peer.ts';
import { Uploader } from './uploader.ts';
import { type PieceSource, WebSeedDownloads, type WebSeedMode } from './web-seed-downloads.ts';

export interface TorrentSessionOptions {
  /** The 20-byte id of the torrent on the wire (v1 info-hash, or truncated v2). */
  readonly infoHash: Uint8Array;
  /**
   * Other 20-byte ids of the same torrent a peer may handshake with: a hybrid torrent's
   * truncated v2 hash beside its v1 hash (BEP 52). Incoming peers get their own hash back.
   */
  readonly aliases?: readonly Uint8Array[];
  readonly peerId: Uint8Array;
  readonly layout: StorageLayout;
  readonly storage: Storage;
  readonly verifyPiece: VerifyPiece;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly random: Random;
  readonly dialer: Dialer;
  /** Pieces to download (file selection); default all. */
  readonly wanted?: (piece: number) => boolean;
  readonly limits?: Partial<PeerSetLimits>;
  /**
   * Most connections peers opened to us (default 150). When full, a handshaken peer that has
   * been idle (neither side interested) for `idleEvictMs` makes room; otherwise the new
   * connection is refused, so idle sockets cannot take every descriptor.
   */
  readonly maxIncoming?: number;
  /** Most connections from one IP address (default 8; loopback is not limited). */
  readonly maxPerAddress?: number;
  /** Upload cap in bytes/s over all peers (default none). */
  readonly uploadRateLimit?: number;
  /**
   * The caller hashed the data on disk into this torrent moments ago: `start` takes every
   * piece whose bytes are present as verified without reading and hashing them again.
   */
  readonly dataVerified?: boolean;
  /** Most bytes queued to one peer at a time (default 1 MiB; see Uploader). */
  readonly sendBuffer?: number;
  /** Upload slots of the choker (default 4). */
  readonly uploadSlots?: number;
  /** Wraps a transport into a peer link (default: the codec link). The simulator may pass its own. */
  readonly linkFactory?: (transport: Transport) => PeerLink;
  /** The bencoded info dictionary, served to peers that have only the magnet link (BEP 9). */
  readonly info?: Uint8Array;
  /** Exchange peers with peers (BEP 11; default false, and never for a private torrent). */
  readonly pex?: boolean;
  /** Our listen port, told to peers in the extension handshake. */
  readonly listenPort?: number;
  /** HTTP sources of pieces (BEP 19 web seeds), used for pieces no connected peer has. */
  readonly webSeeds?: readonly PieceSource[];
  /** Answers BEP 52 hash requests from our piece layers (v2 and hybrid torrents). */
  readonly hashServer?: HashServer;
  /**
   * BEP 55 hole punching: relay rendezvous between our peers, and when a dial to a peer we
   * learnt by PEX fails, ask the peer that told us to have both of us dial at once (meant for
   * uTP, whose packets open the NATs on both sides). Default false.
   */
  readonly holepunch?: boolean;
}

export interface SessionEvents {
  /** A piece verified and was stored. */
  piece(index: number): void;
  /** Every wanted piece is verified and stored. */
  done(): void;
  peerConnected(key: string): void;
  peerClosed(key: string, reason?: CodedError): void;
  /** A peer sent bad data or broke the protocol badly; it was dropped and banned. */
  peerBanned(key: string, reason: CodedError): void;
  /** Something failed that the session survived (disk error on one piece, a dial...). */
  warning(error: CodedError): void;
  /**
   * BEP 55: `relayed` (we introduced two peers: the asker, then the target), `connect` (a
   * relay asked us to dial the address), `error` (a relay could not: address, BEP 55 code).
   */
  holepunch(kind: 'relayed' | 'connect' | 'error', address: string, other?: string): void;
}

export interface SessionStats {
  readonly pieces: number;
  readonly wantedPieces: number;
  readonly verifiedBytes: number;
  readonly downloaded: number;
  readonly uploaded: number;
  readonly downloadRate: number;
  readonly uploadRate: number;
  readonly peers: number;
  readonly banned: number;
  /** Web seeds in use (those that sent bad data are dropped). */
  readonly webSeeds: number;
}

const TICK_MS = 1000;
const RECHOKE_EVERY = 10;
/** How long web seeds wait for peers after start when peers are known. */
const WEBSEED_GRACE_MS = 5_000;

/**
 * One torrent in a swarm: connects peers, downloads and verifies pieces, uploads to others.
 * Everything from the environment is injected (clock, timers, random, dialer, storage), so the
 * simulation drives it in virtual time. The parts live beside it: `Downloader` (requests),
 * `Uploader` (serving), `PieceVerification` (blame), `PeerSet` (whom to dial, bans).
 */
export class TorrentSession extends Emitter<SessionEvents> {
  private readonly peers = new Map<string, SwarmPeer>();
  private readonly peerSet: PeerSet;
  private readonly downloader: Downloader;
  private readonly uploader: Uploader;
  private readonly verification: PieceVerification;
  private readonly haveBits: Uint8Array;
  private haveCount = 0;
  private wantedCount = 0;
  private verifiedBytes = 0;
  private downloadedBytes = 0;
  private uploadedBytes = 0;
  private timer: TimerHandle | undefined;
  private ticks = 0;
  private chokerState: ChokerState = INITIAL_CHOKER_STATE;
  private started = false;
  private closed = false;
  private finished = false;
  private nextPeerNo = 0;
  private readonly abort = new AbortController();
  private readonly wanted: (piece: number) => boolean;
  private readonly webSeeds: WebSeedDownloads | undefined;
  private readonly webRate = new RateMeter();

  constructor(private readonly options: TorrentSessionOptions) {
    super();
    const { layout } = options;
    this.wanted = options.wanted ?? (() => true);
    this.peerSet = new PeerSet({ ...defaultPeerSetLimits, ...options.limits });
    this.haveBits = newBits(layout.pieceCount);
    this.verification = new PieceVerification(options.verifyPiece);
    this.downloader = new Downloader(layout, {
      random: options.random,
      onPieceComplete: (index, data, from) => void this.completePiece(index, data, from),
      onViolation: (peer, code, message) => this.dropPeer(peer, codedError(code, message), false),
    });
    this.uploader = new Uploader(layout, () => this.options.storage, {
      have: (i) => this.downloader.state.hasPiece(i),
      now: () => this.options.clock.now(),
      ...(options.uploadRateLimit ? { rateLimit: options.uploadRateLimit } : {}),
      ...(options.sendBuffer ? { sendBuffer: options.sendBuffer } : {}),
      later: (fn, ms) => {
        this.options.timers.setTimeout(() => {
          if (!this.closed) fn();
        }, ms);
      },
      onSent: (n) => {
        this.uploadedBytes += n;
      },
      onViolation: (peer, code, message) => this.dropPeer(peer, codedError(code, message), false),
      onError: (err) =>
        this.emit('warning', codedError('BT_STORAGE_IO', `upload read failed: ${String(err)}`, err)),
    });
    this.webSeeds = options.webSeeds?.length
      ? new WebSeedDownloads(options.webSeeds, {
          state: this.downloader.state,
          mode: () => this.webSeedMode(),
          complete: (index, data) => {
            this.downloadedBytes += data.length;
            this.webRate.add(data.length, this.options.clock.now());
            return this.completePiece(index, data, []);
          },
          warning: (e) => this.emit('warning', e),
          now: () => this.options.clock.now(),
          later: (fn, ms) => {
            this.options.timers.setTimeout(() => {
              if (!this.closed) fn();
            }, ms);
          },
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
    for (const p of found) this.markVerified(p, false);
    if (this.closed) return;
    this.startedAt = this.options.clock.now();
    this.timer = this.options.timers.setInterval(() => this.tick(), TICK_MS);
    for (const source of this.sources) this.runSource(source);
    this.checkDone();
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

  private readonly sources: PeerSource[] = [];

  private runSource(source: PeerSource): void {
    void source
      .run(
        {
          peers: (found) => this.addPeers(found),
          warning: (e) => this.emit('warning', codedError(e.code, `${source.name}: ${e.message}`)),
        },
        this.abort.signal,
      )
      .catch((err) =>
        this.emit('warning', codedError('BT_SESSION_SOURCE', `${source.name} failed: ${String(err)}`, err)),
      );
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
    if (this.started && !this.closed) this.dialSome();
  }

  /** Whether an incoming handshake names this torrent (by any of its wire hashes). */
  private readonly acceptsHash = (theirs: Uint8Array): boolean =>
    bytesEqual(theirs, this.options.infoHash) ||
    (this.options.aliases ?? []).some((h) => bytesEqual(h, theirs));

  /** An incoming connection for this torrent (the handshake not read yet). */
  addIncoming(transport: Transport): void {
    if (this.closed) {
      transport.close(codedError('BT_SESSION_CLOSED', 'session closed'));
      return;
    }
    const host = transport.remote.address ?? '';
    let incoming = 0;
    let sameHost = 0;
    for (const p of this.peers.values()) {
      if (!p.link.remote.outgoing) incoming++;
      if (host && p.link.remote.address === host) sameHost++;
    }
    if (host && !isLoopback(host) && sameHost >= (this.options.maxPerAddress ?? 8)) {
      this.incomingRefused++;
      transport.close(codedError('BT_PEER_REFUSED', 'too many connections from this address'));
      return;
    }
    if (incoming >= (this.options.maxIncoming ?? 150) && !this.evictIdle()) {
      this.incomingRefused++;
      transport.close(codedError('BT_PEER_REFUSED', 'too many peers'));
      return;
    }
    this.attach(transport);
  }

  /** Incoming connections refused by the caps (`maxIncoming`, `maxPerAddress`). */
  incomingRefused = 0;

  /**
   * Drops the incoming peer idle the longest (handshaken, neither side interested, connected
   * for a while) to make room; false when every peer is in use.
   */
  private evictIdle(): boolean {
    const now = this.options.clock.now();
    let victim: SwarmPeer | undefined;
    for (const p of this.peers.values()) {
      if (p.link.remote.outgoing || !p.info || p.link.peerInterested || p.link.amInterested) continue;
      if (now - Math.max(p.connectedAt, p.lastBlockAt) < idleEvictMs) continue;
      if (!victim || p.connectedAt < victim.connectedAt) victim = p;
    }
    if (!victim) return false;
    this.dropPeer(victim, codedError('BT_PEER_CLOSED', 'idle, making room for a new peer'), false);
    return true;
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
  async addPiece(index: number, data: Uint8Array): Promise<boolean> {
    const { layout } = this.options;
    if (!Number.isInteger(index) || index < 0 || index >= layout.pieceCount) return false;
    if (data.length !== pieceSize(layout, index) || this.closed) return false;
    if (this.downloader.state.hasPiece(index)) return true;
    if (!(await this.options.verifyPiece(index, data))) return false;
    if (this.closed) return false;
    if (this.downloader.state.hasPiece(index)) return true;
    try {
      await this.options.storage.write(index * layout.pieceLength, data);
    } catch (err) {
      this.emit(
        'warning',
        codedError('BT_STORAGE_IO', `could not store piece ${index}: ${(err as Error).message}`, err),
      );
      return false;
    }
    if (this.closed) return false;
    this.uploader.forget(index);
    this.markVerified(index, true);
    this.downloader.discard(index);
    this.checkDone();
    return true;
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
    return this.finished;
  }

  get layout(): StorageLayout {
    return this.options.layout;
  }

  get storage(): Storage {
    return this.options.storage;
  }

  stats(): SessionStats {
    const now = this.options.clock.now();
    let down = this.webRate.rate(now);
    let up = 0;
    for (const p of this.peers.values()) {
      down += p.link.downloadRate();
      up += p.link.uploadRate();
    }
    return {
      pieces: this.haveCount,
      wantedPieces: this.wantedCount,
      verifiedBytes: this.verifiedBytes,
      downloaded: this.downloadedBytes,
      uploaded: this.uploadedBytes,
      downloadRate: down,
      uploadRate: up,
      peers: this.peers.size,
      banned: this.peerSet.bannedCount,
      webSeeds: this.webSeeds?.active ?? 0,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    this.timer?.cancel();
    for (const p of [...this.peers.values()]) p.link.close(codedError('BT_SESSION_CLOSED', 'session closed'));
    this.peers.clear();
    await this.options.storage.flush().catch(() => {});
    await this.options.storage.close().catch(() => {});
  }

  private tick(): void {
    if (this.closed) return;
    const now = this.options.clock.now();
    this.ticks++;
    for (const peer of this.peers.values()) {
      this.updateInterest(peer);
      this.downloader.fill(peer);
    }
    if (this.ticks % RECHOKE_EVERY === 1) this.rechoke(now);
    this.dialSome();
    if (!this.finished) this.webSeeds?.pump();
  }

  private dialSome(): void {
    const now = this.options.clock.now();
    for (const address of this.peerSet.nextDials(now, this.peers.size)) {
      void this.options.dialer.dial(address, this.abort.signal).then((r) => {
        if (!r.ok) {
          this.peerSet.dialFailed(address, this.options.clock.now());
          this.askRendezvous(address);
          return;
        }
        if (this.closed) {
          r.transport.close(codedError('BT_SESSION_CLOSED', 'session closed'));
          return;
        }
        this.attach(r.transport, address);
      });
    }
  }

  /** PEX-learnt address -> key of the peer that told us (a relay for BEP 55). */
  private readonly relayOf = new Map<string, string>();
  /** When we last asked a relay about an address (one rendezvous a minute per address). */
  private readonly rendezvousAt = new Map<string, number>();

  /** A dial failed: ask the peer that told us about the address to introduce us (BEP 55). */
  private askRendezvous(address: PeerAddress): void {
    if (!this.options.holepunch || this.closed) return;
    const k = addressKey(address);
    const relay = this.peers.get(this.relayOf.get(k) ?? '');
    const now = this.options.clock.now();
    if (!relay?.info || now - (this.rendezvousAt.get(k) ?? -Infinity) < 60_000) return;
    if (relay.link.sendHolepunch?.({ type: 'rendezvous', address, error: 0 })) this.rendezvousAt.set(k, now);
  }

  /** The address others can dial a connected peer at: the one we dialled, or its IP and `p`. */
  private dialableAddress(p: SwarmPeer): PeerAddress | undefined {
    if (p.link.remote.outgoing) return parseKey(p.key);
    return p.link.remote.address && p.link.listenPort
      ? { host: p.link.remote.address, port: p.link.listenPort }
      : undefined;
  }

  /** The connected peer (handshake done) that others reach at `address`, if any. */
  private peerAt(address: PeerAddress): SwarmPeer | undefined {
    const k = addressKey(address);
    for (const p of this.peers.values()) {
      const a = p.info ? this.dialableAddress(p) : undefined;
      if (a && addressKey(a) === k) return p;
    }
    return undefined;
  }

  private onHolepunch(from: SwarmPeer, msg: HolepunchMessage): void {
    if (!this.options.holepunch || this.closed) return;
    const target = msg.address;
    if (msg.type === 'rendezvous') {
      const error = (code: number) =>
        from.link.sendHolepunch?.({ type: 'error', address: target, error: code });
      const self = this.dialableAddress(from);
      if (self && addressKey(self) === addressKey(target)) return void error(HOLEPUNCH_ERRORS.noSelf);
      const other = this.peerAt(target);
      if (!other || !self) return void error(HOLEPUNCH_ERRORS.notConnected);
      if (!other.link.sendHolepunch?.({ type: 'connect', address: self, error: 0 }))
        return void error(HOLEPUNCH_ERRORS.noSupport);
      from.link.sendHolepunch?.({ type: 'connect', address: target, error: 0 });
      this.emit('holepunch', 'relayed', addressKey(self), addressKey(target));
    } else if (msg.type === 'connect') {
      // Both ends dial now: each one's packets open its own NAT for the other's.
      if (this.peerAt(target)) return;
      this.emit('holepunch', 'connect', addressKey(target));
      void this.options.dialer.dial(target, this.abort.signal).then((r) => {
        if (!r.ok) return;
        if (this.closed) r.transport.close(codedError('BT_SESSION_CLOSED', 'session closed'));
        else this.attach(r.transport, target);
      });
    } else {
      this.emit('holepunch', 'error', addressKey(target), String(msg.error));
    }
  }

  private attach(transport: Transport, dialed?: PeerAddress): void {
    const remote =
      dialed ??
      (transport.remote.address && transport.remote.port
        ? { host: transport.remote.address, port: transport.remote.port }
        : undefined);
    let registered = remote;
    if (!this.peerSet.connectedTo(remote)) {
      // A second connection to an address we are connected to may be the other half of a
      // simultaneous dial: keep it until the handshake, where the peer ids decide which stays.
      if (!remote || this.peerSet.isBanned(remote)) {
        transport.close(codedError('BT_PEER_REFUSED', 'banned or already connected'));
        return;
      }
      registered = undefined;
    }
    const link =
      this.options.linkFactory?.(transport) ??
      new PeerConnectionLink(
        transport,
        {
          // An incoming peer of a hybrid may name either hash and gets its own back; without
          // aliases we handshake at once (both ends of a memory pair may be "incoming"). A
          // WebRTC channel we offered arrives through addIncoming but is ours to open: waiting
          // there for the other side, which waits too, would leave both silent.
          infoHash:
            dialed || transport.remote.outgoing || !this.options.aliases?.length
              ? this.options.infoHash
              : this.acceptsHash,
          peerId: this.options.peerId,
          clock: this.options.clock,
          timers: this.options.timers,
          layout: {
            pieceCount: this.options.layout.pieceCount,
            pieceSize: (i) => requestablePieceSize(this.options.layout, i),
          },
        },
        (i) => this.downloader.state.hasPiece(i),
        {
          info: () => this.options.info,
          pex: this.options.pex === true,
          pexPeers: () => this.pexPeers(),
          ...(this.options.holepunch ? { holepunch: true } : {}),
          ...(this.options.listenPort ? { listenPort: this.options.listenPort } : {}),
          ...(this.options.hashServer ? { hashes: this.options.hashServer } : {}),
        },
      );
    const key = registered ? addressKey(registered) : `peer-${this.nextPeerNo++}`;
    const peer = new SwarmPeer(key, link, this.options.clock.now());
    const address = registered;
    this.peers.set(key, peer);
    link.start({
      ready: (info) => {
        if (equalId(info.peerId, this.options.peerId)) {
          this.dropPeer(peer, codedError('BT_PEER_SELF', 'connected to ourselves'), false, false);
          return;
        }
        if (!this.keepOneConnection(peer, info.peerId)) return;
        peer.info = info;
        link.announcePieces(this.haveBits, this.options.layout.pieceCount);
        this.emit('peerConnected', key);
      },
      have: (index) => {
        if (index < 0 || index >= this.options.layout.pieceCount) {
          this.dropPeer(peer, codedError('BT_PEER_BAD_HAVE', `have ${index} out of range`), false);
          return;
        }
        this.downloader.peerHas(index);
        if (!link.amInterested && this.downloader.state.wants(index)) this.setInterested(peer, true);
      },
      bitfield: (bits) => {
        this.downloader.peerBitfield(bits);
        this.updateInterest(peer);
      },
      // Choked without BEP 6, our requests ended first (`requestEnded`, reason 'choked').
      choked: (choked) => {
        if (!choked) this.downloader.fill(peer);
      },
      // The link reports changes only. A newcomer should not wait up to 10 s for a slot while
      // slots are free, and a slot held by a peer that lost interest is idle upload capacity
      // until the next round.
      interested: (interested) => {
        if (interested || !link.amChoking) this.rechokeSoon();
      },
      block: (index, begin, bytes) => {
        this.downloadedBytes += bytes.length;
        this.downloader.block(peer, index, begin, bytes, this.options.clock.now(), this.peers.values());
        if (!this.closed && this.peers.has(key)) this.downloader.fill(peer);
      },
      requestEnded: (index, begin) => this.downloader.requestEnded(peer, index, begin),
      request: (index, begin, length) => this.uploader.request(peer, index, begin, length),
      cancel: (index, begin, length) => this.uploader.cancel(peer, index, begin, length),
      peers: (found) => {
        if (this.options.holepunch) for (const a of found) this.relayOf.set(addressKey(a), key);
        this.addPeers(found);
      },
      holepunch: (msg) => this.onHolepunch(peer, msg),
      drain: () => this.uploader.pump(peer),
      closed: (reason) => this.removePeer(peer, address, reason),
    });
  }

  /**
   * Two connections to one peer (both sides dialed at the same instant, or an incoming one
   * from an address we know by another port): both ends keep the connection dialed by the
   * lower peer id, so they agree without talking. Returns false when `peer` was dropped.
   */
  private keepOneConnection(peer: SwarmPeer, peerId: Uint8Array): boolean {
    const id = hexId(peerId);
    const other = this.byPeerId.get(id);
    if (other && other !== peer && this.peers.get(other.key) === other) {
      const dialer = (p: SwarmPeer) => (p.link.remote.outgoing ? this.options.peerId : peerId);
      const keepOther = compareIds(dialer(other), dialer(peer)) < 0;
      const duplicate = codedError('BT_PEER_DUPLICATE', 'already connected to this peer');
      if (keepOther) {
        this.dropPeer(peer, duplicate, false, false);
        return false;
      }
      this.dropPeer(other, duplicate, false, false);
    }
    this.byPeerId.set(id, peer);
    return true;
  }

  private readonly byPeerId = new Map<string, SwarmPeer>();

  /**
   * Web seeds wait while peers are known and the session is young (an origin behind the web
   * seed is what the swarm should offload), then take what no peer has, or anything while no
   * peer serves us. With no peer and no source of peers (tracker, DHT) they start at once.
   */
  private webSeedMode(): WebSeedMode {
    if (this.peers.size === 0 && !this.peersKnown && this.sources.length === 0) return 'any';
    if (this.options.clock.now() - this.startedAt < WEBSEED_GRACE_MS) return 'none';
    for (const p of this.peers.values()) if (!p.link.peerChoking && p.link.amInterested) return 'missing';
    return 'any';
  }

  private startedAt = 0;
  /** Some source (tracker, DHT, PEX, the user) gave us an address. */
  private peersKnown = false;

  /** Addresses of connected peers others can dial, for PEX: dialled ones, or the port a peer said it listens on. */
  private pexPeers(): PeerAddress[] {
    const out: PeerAddress[] = [];
    for (const p of this.peers.values()) {
      if (!p.info) continue;
      if (p.link.remote.outgoing) {
        const a = parseKey(p.key);
        if (a) out.push(a);
      } else if (p.link.remote.address && p.link.listenPort) {
        out.push({ host: p.link.remote.address, port: p.link.listenPort });
      }
    }
    return out;
  }

  private updateInterest(peer: SwarmPeer): void {
    const want = !this.finished && this.downloader.wantsFrom(peer);
    if (want !== peer.link.amInterested) this.setInterested(peer, want);
  }

  private setInterested(peer: SwarmPeer, interested: boolean): void {
    peer.link.interested(interested);
    if (interested) this.downloader.fill(peer);
  }

  private rechokePending = false;

  private rechokeSoon(): void {
    if (this.rechokePending) return;
    this.rechokePending = true;
    this.options.timers.setTimeout(() => {
      this.rechokePending = false;
      if (!this.closed) this.rechoke(this.options.clock.now());
    }, 0);
  }

  private rechoke(now: number): void {
    const list = [...this.peers.values()].filter((p) => p.info);
    const decision = unchokeOrder(
      list.map((p) => ({
        id: p.key,
        interested: p.link.peerInterested,
        downloadRate: p.link.downloadRate(),
        uploadRate: p.link.uploadRate(),
        connectedAt: p.connectedAt,
        ...(Number.isFinite(p.optimisticAt) ? { lastOptimisticAt: p.optimisticAt } : {}),
      })),
      now,
      { seeding: this.finished, slots: this.options.uploadSlots ?? 4, random: this.options.random },
      this.chokerState,
    );
    this.chokerState = decision.state;
    const unchoke = new Set(decision.unchoke);
    for (const id of decision.optimistic) {
      const p = this.peers.get(id);
      if (p) p.optimisticAt = now;
    }
    for (const p of list) {
      const choke = !unchoke.has(p.key);
      if (choke === p.link.amChoking) continue;
      p.link.choke(choke);
      if (choke) this.uploader.choked(p);
      else this.uploader.pump(p);
    }
  }

  private async completePiece(
    index: number,
    data: Uint8Array,
    from: readonly (string | undefined)[],
  ): Promise<boolean> {
    const verdict = await this.verification.check(index, data, from);
    if (this.closed) return false;
    for (const key of verdict.ban) {
      const p = this.peers.get(key);
      const reason = codedError('BT_PEER_BAD_DATA', `sent data that failed the hash of piece ${index}`);
      if (p) this.dropPeer(p, reason, true);
      else this.peerSet.ban(parseKey(key));
      this.emit('peerBanned', key, reason);
    }
    if (!verdict.ok) {
      this.downloader.failed(index);
      return false;
    }
    try {
      await this.options.storage.write(index * this.options.layout.pieceLength, data);
    } catch (err) {
      this.downloader.recycle(data);
      this.downloader.failed(index);
      this.emit(
        'warning',
        codedError('BT_STORAGE_IO', `could not store piece ${index}: ${(err as Error).message}`, err),
      );
      return true;
    }
    this.downloader.recycle(data);
    if (this.closed) return true;
    this.markVerified(index, true);
    this.checkDone();
    return true;
  }

  private markVerified(index: number, announce: boolean): void {
    if (this.downloader.state.hasPiece(index)) return;
    this.downloader.state.verified(index);
    this.downloader.verified(index);
    setBit(this.haveBits, index);
    this.haveCount++;
    this.verifiedBytes += Math.min(
      this.options.layout.pieceLength,
      this.options.layout.totalLength - index * this.options.layout.pieceLength,
    );
    if (!announce) return;
    for (const p of this.peers.values()) {
      if (!p.info) continue;
      p.link.have(index);
      // The piece may have been the last one this peer could give us: tell it now, so it
      // frees the upload slot instead of keeping it for us until our next tick.
      if (p.link.amInterested && p.link.outstandingCount === 0 && p.has(index)) this.updateInterest(p);
    }
    this.emit('piece', index);
  }

  private checkDone(): void {
    if (this.finished) return;
    for (let p = 0; p < this.options.layout.pieceCount; p++) if (this.downloader.state.wants(p)) return;
    this.finished = true;
    // BEP 3: "No completed is sent if the file was complete when started." A seeder that
    // starts with the data would otherwise be counted as a download by every tracker.
    if (this.downloadedBytes > 0) for (const source of this.sources) source.completed?.();
    for (const p of this.peers.values()) if (p.link.amInterested) this.setInterested(p, false);
    void this.options.storage.flush().then(
      () => this.emit('done'),
      (err) =>
        this.emit('warning', codedError('BT_STORAGE_IO', `flush failed: ${(err as Error).message}`, err)),
    );
  }

  private dropPeer(peer: SwarmPeer, reason: CodedError, ban: boolean, redial = false): void {
    if (ban) this.peerSet.ban(parseKey(peer.key));
    if (!redial) this.noRedial.add(peer.key);
    peer.link.close(reason);
    // `closed` from the link finishes the bookkeeping; do it now too in case it never comes.
    this.removePeer(peer, parseKey(peer.key), reason);
  }

  private readonly noRedial = new Set<string>();

  private removePeer(peer: SwarmPeer, address: PeerAddress | undefined, reason?: CodedError): void {
    if (this.peers.get(peer.key) !== peer) return;
    this.peers.delete(peer.key);
    const id = peer.info && hexId(peer.info.peerId);
    if (id && this.byPeerId.get(id) === peer) this.byPeerId.delete(id);
    this.downloader.removed(peer);
    peer.uploads = [];
    const redial = !this.noRedial.delete(peer.key) && peer.link.remote.outgoing && !this.closed;
    this.peerSet.disconnected(address, this.options.clock.now(), redial, peer.info !== undefined);
    this.emit('peerClosed', peer.key, reason);
    if (!peer.link.amChoking) this.rechokeSoon();
  }
}

/** An incoming peer idle this long may be dropped to make room for a new one. */
const idleEvictMs = 30_000;

function equalId(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function compareIds(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function hexId(id: Uint8Array): string {
  let s = '';
  for (const b of id) s += b.toString(16).padStart(2, '0');
  return s;
}

/** The address back from a peer key made by `addressKey`. */
function parseKey(key: string): PeerAddress | undefined {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(key);
  return m ? { host: m[1]!, port: Number(m[2]) } : undefined;
}

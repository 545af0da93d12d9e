import { bytesEqual, compareBytes, toHex } from '../bytes.ts';
import { PeerConnectionLink } from '../peer/peer-connection-link.ts';
import { requestablePieceSize } from '../storage/layout.ts';
import { type CodedError, codedError, type PeerAddress, type Transport } from '../transport.ts';
import type { Downloader } from './downloader.ts';
import { parseKey, pexAddresses } from './peer-addresses.ts';
import type { PeerInfo, PeerLink, PeerLinkEvents } from './peer-link.ts';
import { addressKey, isLoopback, type PeerSet } from './peer-set.ts';
import type { RechokeSchedule } from './rechoke-schedule.ts';
import type { TorrentSessionOptions } from './session-types.ts';
import { SwarmPeer } from './swarm-peer.ts';

export interface PeerLifecycleDeps {
  readonly options: TorrentSessionOptions;
  /** The connected peers by key, filled and emptied here only (the other parts read it). */
  readonly peers: Map<string, SwarmPeer>;
  readonly peerSet: PeerSet;
  readonly downloader: Downloader;
  readonly rechoke: RechokeSchedule;
  /** Our pieces as a bitfield, told to each peer once it is handshaken. */
  haveBits(): Uint8Array;
  /** The handlers of a peer's wire events (peer-events.ts); `ready` and `closed` are ours. */
  eventsFor(peer: SwarmPeer): Omit<PeerLinkEvents, 'ready' | 'closed'>;
  /** A dial failed (BEP 55 may ask a relay for a rendezvous). */
  dialFailed(address: PeerAddress): void;
  peerConnected(key: string): void;
  peerClosed(key: string, reason?: CodedError): void;
  closed(): boolean;
  readonly signal: AbortSignal;
}

/** An incoming peer idle this long may be dropped to make room for a new one. */
const idleEvictMs = 30_000;

/**
 * The session's connected peers from dial or accept to close: who may connect (caps per
 * address and overall, bans, one connection per peer id), building each peer's link and
 * record, dialling the peer set's candidates, dropping and banning, and the bookkeeping when
 * a peer goes (its requests were ended by the link; its pieces leave availability).
 */
export class PeerLifecycle {
  readonly peers: Map<string, SwarmPeer>;
  /** Incoming connections refused by the caps (`maxIncoming`, `maxPerAddress`). */
  incomingRefused = 0;
  private readonly byPeerId = new Map<string, SwarmPeer>();
  private readonly noRedial = new Set<string>();
  private nextPeerNo = 0;

  constructor(private readonly deps: PeerLifecycleDeps) {
    this.peers = deps.peers;
  }

  /** An incoming connection for this torrent (the handshake not read yet). */
  addIncoming(transport: Transport): void {
    if (this.deps.closed()) {
      transport.close(codedError('BT_SESSION_CLOSED', 'session closed'));
      return;
    }
    const { options } = this.deps;
    const host = transport.remote.address ?? '';
    let incoming = 0;
    let sameHost = 0;
    for (const p of this.peers.values()) {
      if (!p.link.remote.outgoing) incoming++;
      if (host && p.link.remote.address === host) sameHost++;
    }
    if (host && !isLoopback(host) && sameHost >= (options.maxPerAddress ?? 8)) {
      this.incomingRefused++;
      transport.close(codedError('BT_PEER_REFUSED', 'too many connections from this address'));
      return;
    }
    if (incoming >= (options.maxIncoming ?? 150) && !this.evictIdle()) {
      this.incomingRefused++;
      transport.close(codedError('BT_PEER_REFUSED', 'too many peers'));
      return;
    }
    this.attach(transport);
  }

  /** Dials the peer set's next candidates. */
  dialSome(): void {
    const { options, peerSet } = this.deps;
    const now = options.clock.now();
    for (const address of peerSet.nextDials(now, this.peers.size)) {
      void options.dialer.dial(address, this.deps.signal).then((r) => {
        if (!r.ok) {
          peerSet.dialFailed(address, options.clock.now());
          this.deps.dialFailed(address);
          return;
        }
        if (this.deps.closed()) {
          r.transport.close(codedError('BT_SESSION_CLOSED', 'session closed'));
          return;
        }
        this.attach(r.transport, address);
      });
    }
  }

  /** Makes a peer of a connection: `dialed` is the address we dialled, if we did. */
  attach(transport: Transport, dialed?: PeerAddress): void {
    const remote =
      dialed ??
      (transport.remote.address && transport.remote.port
        ? { host: transport.remote.address, port: transport.remote.port }
        : undefined);
    let registered = remote;
    if (!this.deps.peerSet.connectedTo(remote)) {
      // A second connection to an address we are connected to may be the other half of a
      // simultaneous dial: keep it until the handshake, where the peer ids decide which stays.
      if (!remote || this.deps.peerSet.isBanned(remote)) {
        transport.close(codedError('BT_PEER_REFUSED', 'banned or already connected'));
        return;
      }
      registered = undefined;
    }
    const link = this.deps.options.linkFactory?.(transport) ?? this.codecLink(transport, dialed);
    const key = registered ? addressKey(registered) : `peer-${this.nextPeerNo++}`;
    const peer = new SwarmPeer(key, link, this.deps.options.clock.now());
    this.peers.set(key, peer);
    link.start({
      ...this.deps.eventsFor(peer),
      ready: (info) => this.ready(peer, info),
      closed: (reason) => this.remove(peer, registered, reason),
    });
  }

  /** Closes the peer; `ban` keeps its address out, `redial` lets the peer set dial it again. */
  drop(peer: SwarmPeer, reason: CodedError, ban: boolean, redial = false): void {
    if (ban) this.deps.peerSet.ban(parseKey(peer.key));
    if (!redial) this.noRedial.add(peer.key);
    peer.link.close(reason);
    // `closed` from the link finishes the bookkeeping; do it now too in case it never comes.
    this.remove(peer, parseKey(peer.key), reason);
  }

  /** Bans the peer `key`: dropped if connected, never dialled or accepted again. */
  ban(key: string, reason: CodedError): void {
    const p = this.peers.get(key);
    if (p) this.drop(p, reason, true);
    else this.deps.peerSet.ban(parseKey(key));
  }

  /** Closes every peer (the session closes). */
  closeAll(): void {
    for (const p of [...this.peers.values()]) p.link.close(codedError('BT_SESSION_CLOSED', 'session closed'));
    this.peers.clear();
  }

  /** The default link: our wire codec over the transport, with the BEP 10 extensions. */
  private codecLink(transport: Transport, dialed: PeerAddress | undefined): PeerLink {
    const { options, downloader } = this.deps;
    return new PeerConnectionLink(
      transport,
      {
        // An incoming peer of a hybrid may name either hash and gets its own back; without
        // aliases we handshake at once (both ends of a memory pair may be "incoming"). A
        // WebRTC channel we offered arrives through addIncoming but is ours to open: waiting
        // there for the other side, which waits too, would leave both silent.
        infoHash:
          dialed || transport.remote.outgoing || !options.aliases?.length
            ? options.infoHash
            : this.acceptsHash,
        peerId: options.peerId,
        clock: options.clock,
        timers: options.timers,
        layout: {
          pieceCount: options.layout.pieceCount,
          pieceSize: (i) => requestablePieceSize(options.layout, i),
        },
      },
      (i) => downloader.state.hasPiece(i),
      {
        info: () => options.info,
        pex: options.pex === true,
        pexPeers: () => pexAddresses(this.peers.values()),
        ...(options.holepunch ? { holepunch: true } : {}),
        ...(options.listenPort ? { listenPort: options.listenPort } : {}),
        ...(options.hashServer ? { hashes: options.hashServer } : {}),
      },
    );
  }

  /** Whether an incoming handshake names this torrent (by any of its wire hashes). */
  private readonly acceptsHash = (theirs: Uint8Array): boolean =>
    bytesEqual(theirs, this.deps.options.infoHash) ||
    (this.deps.options.aliases ?? []).some((h) => bytesEqual(h, theirs));

  private ready(peer: SwarmPeer, info: PeerInfo): void {
    if (bytesEqual(info.peerId, this.deps.options.peerId)) {
      this.drop(peer, codedError('BT_PEER_SELF', 'connected to ourselves'), false, false);
      return;
    }
    if (!this.keepOneConnection(peer, info.peerId)) return;
    peer.info = info;
    peer.link.announcePieces(this.deps.haveBits(), this.deps.options.layout.pieceCount);
    this.deps.peerConnected(peer.key);
  }

  /**
   * Drops the incoming peer idle the longest (handshaken, neither side interested, connected
   * for a while) to make room; false when every peer is in use.
   */
  private evictIdle(): boolean {
    const now = this.deps.options.clock.now();
    let victim: SwarmPeer | undefined;
    for (const p of this.peers.values()) {
      if (p.link.remote.outgoing || !p.info || p.link.peerInterested || p.link.amInterested) continue;
      if (now - Math.max(p.connectedAt, p.lastBlockAt) < idleEvictMs) continue;
      if (!victim || p.connectedAt < victim.connectedAt) victim = p;
    }
    if (!victim) return false;
    this.drop(victim, codedError('BT_PEER_CLOSED', 'idle, making room for a new peer'), false);
    return true;
  }

  /**
   * Two connections to one peer (both sides dialed at the same instant, or an incoming one
   * from an address we know by another port): both ends keep the connection dialed by the
   * lower peer id, so they agree without talking. Returns false when `peer` was dropped.
   */
  private keepOneConnection(peer: SwarmPeer, peerId: Uint8Array): boolean {
    const id = toHex(peerId);
    const other = this.byPeerId.get(id);
    if (other && other !== peer && this.peers.get(other.key) === other) {
      const ours = this.deps.options.peerId;
      const dialer = (p: SwarmPeer) => (p.link.remote.outgoing ? ours : peerId);
      const keepOther = compareBytes(dialer(other), dialer(peer)) < 0;
      const duplicate = codedError('BT_PEER_DUPLICATE', 'already connected to this peer');
      if (keepOther) {
        this.drop(peer, duplicate, false, false);
        return false;
      }
      this.drop(other, duplicate, false, false);
    }
    this.byPeerId.set(id, peer);
    return true;
  }

  private remove(peer: SwarmPeer, address: PeerAddress | undefined, reason?: CodedError): void {
    if (this.peers.get(peer.key) !== peer) return;
    this.peers.delete(peer.key);
    const id = peer.info && toHex(peer.info.peerId);
    if (id && this.byPeerId.get(id) === peer) this.byPeerId.delete(id);
    this.deps.downloader.removed(peer);
    peer.uploads = [];
    const redial = !this.noRedial.delete(peer.key) && peer.link.remote.outgoing && !this.deps.closed();
    this.deps.peerSet.disconnected(address, this.deps.options.clock.now(), redial, peer.info !== undefined);
    this.deps.peerClosed(peer.key, reason);
    if (!peer.link.amChoking) this.deps.rechoke.soon();
  }
}

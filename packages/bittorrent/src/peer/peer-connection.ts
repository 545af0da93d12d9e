import { bytesEqual } from '../bytes.ts';
import type { TimerHandle } from '../timers.ts';
import { type CodedError, codedError, type Transport, type TransportHandler } from '../transport.ts';
import { WireDecoder } from '../wire/decoder.ts';
import { encodeHandshake } from '../wire/handshake.ts';
import { MessageWriter } from '../wire/message-writer.ts';
import {
  CHOKE,
  HAVE_ALL,
  HAVE_NONE,
  type Handshake,
  INTERESTED,
  KEEP_ALIVE,
  NOT_INTERESTED,
  UNCHOKE,
  type WireMessage,
} from '../wire/messages.ts';
import { WireErrorCode } from '../wire/wire-errors.ts';
import { IncomingRequests, OutgoingRequests } from './block-requests.ts';
import { PeerErrorCode } from './peer-errors.ts';
import type { PeerEvents, RequestEndReason } from './peer-events.ts';
import {
  type PeerConnectionOptions,
  type PieceLayout,
  type ResolvedPeerOptions,
  resolvePeerOptions,
} from './peer-options.ts';
import { RateMeter } from './rate-meter.ts';
import { RemotePieces } from './remote-pieces.ts';

const LIMIT_REFUSALS = 2000;
const LIMIT_DUP_HAVES = 10000;
const LIMIT_UNKNOWN = 100;

/**
 * The per-peer state machine over a {@link Transport}: handshake, choke/interest both ways,
 * the remote's pieces, our request pipeline and the peer's request queue, keep-alives,
 * timeouts, rates, and protocol policing (violations close with a coded reason). It emits
 * facts to one {@link PeerEvents} object and never touches storage or the picker.
 *
 * It is the one owner of these per-peer facts: the session reads them through its
 * {@link PeerConnectionLink} and keeps no copy (libtorrent's `peer_connection` likewise owns
 * its download queue, rates and the remote's bitfield).
 */
export class PeerConnection {
  private readonly decoder: WireDecoder;
  private readonly writer: MessageWriter;
  private readonly opt: ResolvedPeerOptions;
  private events: PeerEvents | undefined;
  private layout: PieceLayout | undefined;
  private ourInfoHash: Uint8Array | undefined;
  private timer: TimerHandle | undefined;
  private flushScheduled = false;
  private readonly flushBound = () => this.flushNow();
  /** One handler object per connection: the transport's events, kept apart from our commands. */
  private readonly transportHandler: TransportHandler = {
    data: (chunk) => this.onData(chunk),
    drain: () => {
      if (!this.closed) this.events?.drain(this);
    },
    close: (reason) => this.finish(reason),
  };

  /** The remote handshake once received. */
  remoteHandshake: Handshake | undefined;
  amChoking = true;
  amInterested = false;
  peerChoking = true;
  peerInterested = false;
  private readonly remoteSet = new RemotePieces();
  /**
   * Set by the first bitfield, have-all, have-none or have. BEP 3/6 want the piece set first,
   * but clients send the BEP 10 handshake (and `port`) before it, so only a piece set after
   * another one, or after a have, is a violation.
   */
  private piecesAnnounced = false;
  /** Pieces the peer lets us request while it chokes us (BEP 6). */
  readonly allowedFastFromPeer = new Set<number>();
  /** Pieces we let the peer request while we choke it. */
  private readonly outstanding = new OutgoingRequests();
  private readonly incoming = new IncomingRequests();
  private remoteReqq = 250;
  private refusals = 0;
  private dupHaves = 0;
  private unknownMessages = 0;
  private lastReceivedAt = 0;
  private lastSentAt = 0;
  private lastPieceAt = 0;
  readonly connectedAt: number;
  readonly download = new RateMeter();
  readonly upload = new RateMeter();
  closed = false;
  closeReason: CodedError | undefined;

  constructor(
    readonly transport: Transport,
    options: PeerConnectionOptions,
  ) {
    this.opt = resolvePeerOptions(options);
    this.infoHashOption = options.infoHash;
    if (options.infoHash instanceof Uint8Array) this.ourInfoHash = options.infoHash;
    this.layout = options.layout;
    this.decoder = new WireDecoder({
      pieceCount: options.layout?.pieceCount,
      transient: transport.transientChunks === true,
    });
    this.writer = new MessageWriter(transport);
    this.connectedAt = options.clock.now();
  }

  private readonly infoHashOption: PeerConnectionOptions['infoHash'];

  // ---- lifecycle -------------------------------------------------------------------------

  /** Attaches `events`, starts the transport and timers, and sends our handshake when we know the torrent. */
  start(events: PeerEvents): void {
    if (this.events) throw new Error('PeerConnection.start called twice');
    this.events = events;
    if (this.closed) {
      // closed before it started: no timers (they would keep Node alive), just the news
      const reason = this.closeReason;
      this.opt.defer(() => events.closed(this, reason));
      return;
    }
    const now = this.opt.clock.now();
    this.lastReceivedAt = now;
    this.lastSentAt = now;
    this.timer = this.opt.timers.setInterval(() => this.tick(), 1000);
    if (this.ourInfoHash) this.sendHandshake();
    this.transport.start(this.transportHandler);
  }

  /** Routes the connection's events elsewhere (an incoming connection handed to its torrent). */
  setEvents(events: PeerEvents): void {
    this.events = events;
  }

  /** Sets the torrent shape once known (magnet links learn it from the metadata). */
  setLayout(layout: PieceLayout): void {
    this.layout = layout;
    this.decoder.pieceCount = layout.pieceCount;
    if (!this.remoteSet.fitsPieceCount(layout.pieceCount)) {
      this.violation(WireErrorCode.badBitfield, 'bitfield size does not match the metadata');
    }
  }

  /** The peer's `reqq` from its extension handshake caps our pipeline to it. */
  setRemoteRequestQueue(reqq: number): void {
    if (Number.isSafeInteger(reqq) && reqq > 0) this.remoteReqq = Math.min(reqq, 5000);
  }

  /** Closes with a reason; outstanding requests end with reason 'closed'. Idempotent. */
  close(reason: CodedError = codedError(PeerErrorCode.closedByUs, 'closed')): void {
    if (this.closed) return;
    this.flushNow();
    this.transport.close(reason);
    this.finish(reason);
  }

  private finish(reason: CodedError | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    this.timer?.cancel();
    const ended = this.outstanding.takeAll();
    this.incoming.clear();
    for (const r of ended) this.events?.requestEnded(this, r.index, r.begin, r.length, 'closed');
    this.events?.closed(this, reason);
  }

  private violation(code: string, message: string): void {
    this.close(codedError(code, message));
  }

  // ---- state for the session -------------------------------------------------------------

  get peerId(): Uint8Array | undefined {
    return this.remoteHandshake?.peerId;
  }

  get supportsFast(): boolean {
    return this.opt.fast && (this.remoteHandshake?.fast ?? false);
  }

  get supportsExtended(): boolean {
    return this.opt.extended && (this.remoteHandshake?.extended ?? false);
  }

  /** True when the remote has `piece`. */
  peerHas(piece: number): boolean {
    return this.remoteSet.has(piece);
  }

  /** The remote's pieces as a bitfield; `undefined` after have-all (it has everything). */
  remotePieces(): Uint8Array | undefined {
    return this.remoteSet.bitfield(this.layout?.pieceCount);
  }

  /** True when the remote has every piece (known only once the layout is). */
  get peerIsSeed(): boolean {
    return this.remoteSet.isSeed(this.layout?.pieceCount);
  }

  /** Pieces the remote has (pieceCount for a seed). */
  get peerPieceCount(): number {
    return this.remoteSet.count(this.layout?.pieceCount);
  }

  /** Our requests awaiting data. */
  get outstandingCount(): number {
    return this.outstanding.size;
  }

  /** How many more requests we may send now (pipeline depth minus outstanding). */
  get requestSlots(): number {
    return Math.max(0, Math.min(this.opt.maxOutstandingRequests, this.remoteReqq) - this.outstanding.size);
  }

  /** True when we have an outstanding request for this block. */
  isRequested(index: number, begin: number): boolean {
    return this.outstanding.has(index, begin);
  }

  /** True when we have an outstanding request in `piece`. */
  hasRequestsIn(piece: number): boolean {
    return this.outstanding.inPiece(piece);
  }

  /** True when we may request `piece` now (unchoked, or allowed-fast while choked). */
  canRequest(piece: number): boolean {
    return !this.peerChoking || (this.supportsFast && this.allowedFastFromPeer.has(piece));
  }

  /** The peer's queued requests we have not served yet. */
  get pendingIncoming(): number {
    return this.incoming.size;
  }

  downloadRate(): number {
    return this.download.rate(this.opt.clock.now());
  }

  uploadRate(): number {
    return this.upload.rate(this.opt.clock.now());
  }

  /** Bytes queued in the transport (serve more blocks only while this is low). */
  get sendBuffered(): number {
    return this.transport.bufferedAmount + this.writer.pending;
  }

  // ---- commands --------------------------------------------------------------------------

  private send(msg: WireMessage): void {
    if (this.closed) return;
    this.writer.write(msg);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.opt.defer(this.flushBound);
  }

  /** Hands batched messages to the transport now; false when it asks for backpressure. */
  flushNow(): boolean {
    this.flushScheduled = false;
    if (this.writer.pending > 0) this.lastSentAt = this.opt.clock.now();
    return this.writer.flush();
  }

  private sendHandshake(): void {
    this.writer.writeRaw(
      encodeHandshake({
        infoHash: this.ourInfoHash as Uint8Array,
        peerId: this.opt.peerId,
        fast: this.opt.fast,
        extended: this.opt.extended,
        dht: this.opt.dht,
      }),
    );
  }

  /** Announces our pieces (the first message after the handshake). */
  sendBitfield(bits: Uint8Array, count: number, pieceCount: number): void {
    if (this.supportsFast && count === 0) this.send(HAVE_NONE);
    else if (this.supportsFast && count === pieceCount) this.send(HAVE_ALL);
    else if (count > 0) this.send({ type: 'bitfield', bits });
  }

  have(index: number): void {
    this.send({ type: 'have', index });
  }

  choke(): void {
    if (this.amChoking) return;
    this.amChoking = true;
    this.send(CHOKE);
    // BEP 6: every queued request not allowed-fast is rejected explicitly; BEP 3: dropped.
    for (const r of this.incoming.dropForChoke()) {
      if (this.supportsFast) this.send({ type: 'reject', index: r.index, begin: r.begin, length: r.length });
    }
  }

  unchoke(): void {
    if (!this.amChoking) return;
    this.amChoking = false;
    this.refusals = 0;
    this.send(UNCHOKE);
  }

  interested(yes: boolean): void {
    if (this.amInterested === yes) return;
    this.amInterested = yes;
    this.send(yes ? INTERESTED : NOT_INTERESTED);
  }

  /** BEP 6: lets the peer request `piece` while we choke it. */
  allowFast(piece: number): void {
    if (!this.supportsFast || this.incoming.allowedFast.has(piece)) return;
    this.incoming.allowedFast.add(piece);
    this.send({ type: 'allowed-fast', index: piece });
  }

  suggest(piece: number): void {
    if (this.supportsFast) this.send({ type: 'suggest', index: piece });
  }

  /**
   * Requests a block. Returns false (and sends nothing) when the pipeline is full, the peer
   * chokes us (and the piece is not allowed-fast), or the block is already requested from it.
   */
  request(index: number, begin: number, length: number): boolean {
    if (this.closed || this.requestSlots === 0 || !this.canRequest(index)) return false;
    const now = this.opt.clock.now();
    if (!this.outstanding.add(index, begin, length, now)) return false;
    if (this.outstanding.size === 1) this.lastPieceAt = now;
    // One per block: straight into the writer's slab, no message object (see writeRequest).
    this.writer.writeRequest(index, begin, length);
    this.scheduleFlush();
    return true;
  }

  /** Cancels an outstanding request (endgame); a late arrival is then accepted quietly. */
  cancel(index: number, begin: number, length: number): void {
    if (this.outstanding.cancel(index, begin)) this.send({ type: 'cancel', index, begin, length });
  }

  /**
   * Serves a block the peer requested (after the session read it from storage). Dropped when
   * the request was cancelled or choked away meanwhile. Returns false when the transport
   * wants backpressure (serve the next block on `drain`). `onWritten`: see `Transport.write`
   * (not called for a block that is dropped).
   */
  sendPiece(index: number, begin: number, block: Uint8Array, onWritten?: () => void): boolean {
    if (this.closed) return false;
    if (!this.incoming.take(index, begin, block.length)) return true;
    this.writer.writePiece(index, begin, block, onWritten);
    this.upload.add(block.length, this.opt.clock.now());
    return this.flushNow();
  }

  /** Refuses a queued request (storage failure, piece not there): reject under BEP 6. */
  rejectRequest(index: number, begin: number, length: number): void {
    if (!this.incoming.remove(index, begin)) return;
    if (this.supportsFast) this.send({ type: 'reject', index, begin, length });
  }

  sendExtended(extId: number, payload: Uint8Array): void {
    this.send({ type: 'extended', extId, payload });
  }

  /** Sends a BEP 52 hash request, hashes or hash reject (body from bep-0052-hashes.ts). */
  sendHashMessage(type: 'hash-request' | 'hashes' | 'hash-reject', payload: Uint8Array): void {
    this.send({ type, payload });
  }

  sendPort(port: number): void {
    this.send({ type: 'port', port });
  }

  // ---- transport events ------------------------------------------------------------------

  private onData(chunk: Uint8Array): void {
    if (this.closed) return;
    this.lastReceivedAt = this.opt.clock.now();
    this.decoder.push(chunk);
    for (let m = this.decoder.next(); m !== undefined && !this.closed; m = this.decoder.next()) {
      if (m.type === 'error') {
        if (m.error.code === WireErrorCode.unknownMessage && ++this.unknownMessages <= LIMIT_UNKNOWN)
          continue;
        this.close(m.error);
        break;
      }
      if (m.type === 'handshake') this.onHandshake(m);
      else this.onMessage(m);
    }
    this.decoder.retain();
    if (!this.closed) this.flushNow();
  }

  private onHandshake(hs: Handshake): void {
    const option = this.infoHashOption;
    if (typeof option === 'function') {
      if (!option(hs.infoHash)) {
        this.violation(PeerErrorCode.infoHashMismatch, 'torrent not served here');
        return;
      }
      this.ourInfoHash = hs.infoHash;
      this.remoteHandshake = hs;
      this.sendHandshake();
    } else {
      if (!bytesEqual(hs.infoHash, option)) {
        this.violation(PeerErrorCode.infoHashMismatch, 'remote handshake names another torrent');
        return;
      }
      this.remoteHandshake = hs;
    }
    if (bytesEqual(hs.peerId, this.opt.peerId)) {
      this.violation(PeerErrorCode.self, 'connected to ourselves');
      return;
    }
    this.events?.handshake(this, hs);
  }

  private onMessage(m: WireMessage): void {
    const ev = this.events;
    if (!ev) return;
    switch (m.type) {
      case 'keep-alive':
        return;
      case 'choke':
        if (this.peerChoking) return;
        this.peerChoking = true;
        if (!this.supportsFast) this.endAll('choked');
        ev.choked(this);
        return;
      case 'unchoke':
        if (!this.peerChoking) return;
        this.peerChoking = false;
        ev.unchoked(this);
        return;
      case 'interested':
        if (this.peerInterested) return;
        this.peerInterested = true;
        ev.interest(this, true);
        return;
      case 'not-interested':
        if (!this.peerInterested) return;
        this.peerInterested = false;
        ev.interest(this, false);
        return;
      case 'have': {
        this.onHave(m.index);
        return;
      }
      case 'bitfield':
      case 'have-all':
      case 'have-none': {
        this.onPieceSet(m.type, m.type === 'bitfield' ? m.bits : undefined);
        return;
      }
      case 'request': {
        this.onRequest(m.index, m.begin, m.length);
        return;
      }
      case 'cancel':
        if (this.incoming.remove(m.index, m.begin)) ev.cancelled(this, m.index, m.begin, m.length);
        return;
      case 'piece': {
        this.onPiece(m.index, m.begin, m.block);
        return;
      }
      case 'reject':
        if (!this.requireFast()) return;
        {
          this.onReject(m.index, m.begin, m.length);
          return;
        }
      case 'allowed-fast':
        if (!this.requireFast()) return;
        if (this.allowedFastFromPeer.size >= 256) return;
        this.allowedFastFromPeer.add(m.index);
        ev.allowedFast(this, m.index);
        return;
      case 'suggest':
        if (!this.requireFast()) return;
        ev.suggest(this, m.index);
        return;
      case 'port':
        ev.port(this, m.port);
        return;
      case 'extended':
        if (!this.opt.extended) {
          this.violation(PeerErrorCode.protocol, 'extended message not negotiated');
          return;
        }
        ev.extended(this, m.extId, m.payload);
        return;
      case 'hash-request':
      case 'hashes':
      case 'hash-reject':
        ev.hashMessage(this, m.type, m.payload);
        return;
    }
  }

  private requireFast(): boolean {
    if (this.supportsFast) return true;
    this.violation(PeerErrorCode.protocol, 'fast-extension message without BEP 6');
    return false;
  }

  private onHave(index: number): void {
    this.piecesAnnounced = true;
    if (this.layout === undefined && index >= 1 << 24) {
      this.violation(WireErrorCode.indexOutOfRange, 'have index beyond any torrent');
      return;
    }
    if (!this.remoteSet.add(index, this.layout?.pieceCount)) {
      if (++this.dupHaves > LIMIT_DUP_HAVES)
        this.violation(PeerErrorCode.haveFlood, 'endless duplicate haves');
      return;
    }
    this.events?.have(this, index);
  }

  private onPieceSet(type: 'bitfield' | 'have-all' | 'have-none', bits: Uint8Array | undefined): void {
    if (type !== 'bitfield' && !this.requireFast()) return;
    // aria2 1.36 sends have-none, then haves, then (once several haves are due at once) whole
    // bitfields again: a late bitfield is accepted and only ever adds pieces; a late have-all
    // or have-none is still a violation.
    if (this.piecesAnnounced && type !== 'bitfield') {
      this.violation(PeerErrorCode.protocol, `${type} after the peer's piece set or a have`);
      return;
    }
    if (this.piecesAnnounced && bits) {
      const count = this.layout?.pieceCount ?? bits.length * 8;
      for (let i = 0; i < count; i++)
        if (((bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0 && this.remoteSet.add(i, this.layout?.pieceCount))
          this.events?.have(this, i);
      return;
    }
    this.piecesAnnounced = true;
    if (type === 'have-all') this.remoteSet.setAll();
    else if (type === 'bitfield' && bits) this.remoteSet.setBitfield(bits, this.layout?.pieceCount);
    this.events?.pieces(this);
  }

  private onRequest(index: number, begin: number, length: number): void {
    const layout = this.layout;
    if (!layout) {
      this.violation(PeerErrorCode.protocol, 'request before we have the metadata');
      return;
    }
    // Outside the piece (as we lay it out) is refused like any request we will not serve: a
    // client may pad differently (libtorrent pads v2 files), and BEP 6 has reject for this.
    const refuse =
      begin + length > layout.pieceSize(index) ||
      (this.amChoking && !this.incoming.allowedFast.has(index)) ||
      this.incoming.size >= this.opt.maxIncomingRequests ||
      this.incoming.has(index, begin) ||
      !this.events?.hasPiece(this, index);
    if (refuse) {
      if (this.supportsFast) this.send({ type: 'reject', index, begin, length });
      if (++this.refusals > LIMIT_REFUSALS)
        this.violation(PeerErrorCode.requestFlood, 'flood of refused requests');
      return;
    }
    this.incoming.add({ index, begin, length });
    this.events?.request(this, index, begin, length);
  }

  private onPiece(index: number, begin: number, block: Uint8Array): void {
    const now = this.opt.clock.now();
    this.download.add(block.length, now);
    const settled = this.outstanding.settle(index, begin, block.length);
    // A reply to a request we cancelled or timed out is fine; anything else is not.
    if (settled === 'late') return;
    if (settled !== 'ok') {
      const what = settled === 'unrequested' ? 'never requested' : 'of the wrong length';
      this.violation(PeerErrorCode.unrequestedData, `piece ${index}:${begin} ${what}`);
      return;
    }
    this.lastPieceAt = now;
    this.events?.block(this, index, begin, block);
  }

  private onReject(index: number, begin: number, length: number): void {
    const settled = this.outstanding.settle(index, begin, undefined);
    if (settled === 'late') return;
    if (settled !== 'ok') {
      if (++this.refusals > LIMIT_REFUSALS) this.violation(PeerErrorCode.protocol, 'flood of stray rejects');
      return;
    }
    this.events?.requestEnded(this, index, begin, length, 'rejected');
  }

  private endAll(reason: RequestEndReason): void {
    for (const r of this.outstanding.takeAll())
      this.events?.requestEnded(this, r.index, r.begin, r.length, reason);
  }

  private tick(): void {
    if (this.closed) return;
    const now = this.opt.clock.now();
    if (!this.remoteHandshake && now - this.connectedAt >= this.opt.handshakeTimeoutMs) {
      this.violation(PeerErrorCode.handshakeTimeout, 'no handshake');
      return;
    }
    if (now - this.lastReceivedAt >= this.opt.idleTimeoutMs) {
      this.violation(PeerErrorCode.idle, `nothing received for ${now - this.lastReceivedAt} ms`);
      return;
    }
    if (this.outstanding.size > 0) {
      // Snubbed (no block at all for the timeout): every request; otherwise those unanswered
      // for the timeout while others were answered (a peer withholding some blocks). Both are
      // cancelled on the wire and handed back to the picker.
      const snubbed = now - this.lastPieceAt >= this.opt.requestTimeoutMs;
      const timedOut = snubbed
        ? this.outstanding.list()
        : this.outstanding.sentBy(now - this.opt.requestTimeoutMs);
      for (const r of timedOut) this.cancel(r.index, r.begin, r.length);
      for (const r of timedOut) this.events?.requestEnded(this, r.index, r.begin, r.length, 'timeout');
      if (snubbed) this.lastPieceAt = now;
    }
    if (this.remoteHandshake && now - this.lastSentAt >= this.opt.keepAliveMs) this.send(KEEP_ALIVE);
  }
}

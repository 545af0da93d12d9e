import { HASH_REQUEST_SIZE, type HashServer } from '../extensions/bep-0052-hashes.ts';
import { PeerExtensions } from '../extensions/peer-extensions.ts';
import type { HolepunchMessage } from '../extensions/ut-holepunch.ts';
import type { PeerLink, PeerLinkEvents } from '../session/peer-link.ts';
import type { TimerHandle } from '../timers.ts';
import { type CodedError, codedError, type PeerAddress, type Transport } from '../transport.ts';
import { PeerConnection } from './peer-connection.ts';
import { type PeerEvents, peerEvents } from './peer-events.ts';
import type { PeerConnectionOptions } from './peer-options.ts';

const PEX_POLL_MS = 5_000;
const PEX_FIRST_MS = 1_000;

/** BEP 10 extensions for a {@link PeerConnectionLink}. */
export interface LinkExtensionOptions {
  /** Our info dictionary when we have it (served over ut_metadata). */
  readonly info: () => Uint8Array | undefined;
  /** Exchange peers (false for private torrents). */
  readonly pex: boolean;
  /** The peers we are connected to, for PEX (asked once a minute). */
  readonly pexPeers?: () => readonly PeerAddress[];
  readonly client?: string;
  readonly listenPort?: number;
  /** Answers BEP 52 hash requests (v2 and hybrid torrents); without it every one is rejected. */
  readonly hashes?: HashServer;
  /** BEP 55 ut_holepunch (see PeerExtensions). */
  readonly holepunch?: boolean;
}

/** Hash requests one peer may have us working on at once; more are rejected. */
const MAX_HASH_REQUESTS_IN_FLIGHT = 32;

/**
 * The engine's {@link PeerLink} seam over a {@link PeerConnection}, which owns the peer's wire
 * state (requests in flight, remote pieces, flags, rates): the link reads it from there and
 * passes every request ending (reject, choke, timeout, close) on as `requestEnded`.
 */
export class PeerConnectionLink implements PeerLink {
  readonly conn: PeerConnection;
  private events: PeerLinkEvents | undefined;
  private readonly handlers: PeerEvents;
  /** BEP 10 state of this peer, when extensions are on. */
  readonly extensions: PeerExtensions | undefined;
  private pexTimer: TimerHandle | undefined;
  private startPex: (() => void) | undefined;
  private pexSoon: (() => void) | undefined;
  private closedLink = false;

  constructor(
    transport: Transport,
    options: PeerConnectionOptions,
    hasPiece: (index: number) => boolean = () => true,
    ext?: LinkExtensionOptions,
  ) {
    this.conn = new PeerConnection(transport, options);
    const ev = () => this.events;
    const x = ext
      ? new PeerExtensions(
          this.conn,
          {
            info: ext.info,
            pex: ext.pex,
            ...(ext.holepunch ? { holepunch: true } : {}),
            client: ext.client,
            listenPort: ext.listenPort,
            reqq: options.maxIncomingRequests ?? 500,
            now: () => options.clock.now(),
          },
          {
            // Their extension handshake says whether they take ut_pex: tell them what we know soon.
            handshake: () => this.pexSoon?.(),
            metadata: () => {},
            metadataRejected: () => {},
            pex: (_c, msg) => ev()?.peers(msg.added.map((p) => ({ host: p.host, port: p.port }))),
            holepunch: (_c, msg) => ev()?.holepunch?.(msg),
          },
        )
      : undefined;
    this.extensions = x;
    if (x && ext?.pex && ext.pexPeers) {
      const peers = ext.pexPeers;
      const timers = options.timers;
      // Poll often, send rarely: the outbox allows one message a minute (BEP 11), so the
      // first one leaves as soon as we know a peer worth telling, not a minute after connecting.
      const send = () => {
        if (this.closedLink) return;
        const r = this.remote;
        const port = this.listenPort;
        x.sendPex(peers().filter((a) => !(a.host === r.address && (a.port === r.port || a.port === port))));
      };
      this.startPex = () => {
        this.pexTimer = timers.setInterval(send, PEX_POLL_MS);
      };
      this.pexSoon = () => {
        timers.setTimeout(send, PEX_FIRST_MS);
      };
    }
    this.handlers = peerEvents({
      handshake: (c, hs) => {
        x?.sendHandshake();
        ev()?.ready({ peerId: hs.peerId.slice(), fast: c.supportsFast });
      },
      pieces: (c) => ev()?.bitfield(c.remotePieces()),
      have: (_c, i) => ev()?.have(i),
      choked: () => ev()?.choked(true),
      unchoked: () => ev()?.choked(false),
      interest: (_c, yes) => ev()?.interested(yes),
      hasPiece: (_c, i) => hasPiece(i),
      request: (_c, i, b, l) => ev()?.request(i, b, l),
      cancelled: (_c, i, b, l) => ev()?.cancel(i, b, l),
      block: (_c, i, b, data) => ev()?.block(i, b, data),
      requestEnded: (_c, i, b, l, why) => ev()?.requestEnded(i, b, l, why),
      extended: (_c, id, payload) => x?.onExtended(id, payload),
      hashMessage: (c, type, payload) => this.onHashMessage(c, type, payload, ext?.hashes),
      drain: () => ev()?.drain(),
      closed: (_c, reason) => {
        this.closedLink = true;
        this.pexTimer?.cancel();
        ev()?.closed(reason);
      },
    });
  }

  private hashRequestsInFlight = 0;

  /**
   * BEP 52: every hash request gets hashes or a hash reject. Answers we ask for ourselves go
   * through the metadata fetch (fetch-metadata.ts), not the session: unasked hashes are dropped.
   */
  private onHashMessage(
    c: PeerConnection,
    type: 'hash-request' | 'hashes' | 'hash-reject',
    payload: Uint8Array,
    server: HashServer | undefined,
  ): void {
    if (type !== 'hash-request') return;
    if (payload.length !== HASH_REQUEST_SIZE) {
      c.close(codedError('BT_WIRE_BAD_HASH_MESSAGE', `hash request of ${payload.length} bytes`));
      return;
    }
    if (!server || this.hashRequestsInFlight >= MAX_HASH_REQUESTS_IN_FLIGHT) {
      c.sendHashMessage('hash-reject', payload);
      return;
    }
    this.hashRequestsInFlight++;
    void server
      .answer(payload)
      .then((a) => {
        if (a && !c.closed) c.sendHashMessage(a.type, a.payload);
      })
      .finally(() => {
        this.hashRequestsInFlight--;
      });
  }

  get remote() {
    return this.conn.transport.remote;
  }

  get listenPort(): number | undefined {
    return this.extensions?.remote?.p;
  }

  sendHolepunch(msg: HolepunchMessage): boolean {
    return this.extensions?.sendHolepunch(msg) ?? false;
  }

  get bufferedAmount(): number {
    return this.conn.sendBuffered;
  }

  start(events: PeerLinkEvents): void {
    this.events = events;
    this.conn.start(this.handlers);
    // a link closed before it started never gets `closed`: its timer would keep Node alive
    if (!this.conn.closed && !this.closedLink) this.startPex?.();
  }

  get requestSlots(): number {
    return this.conn.requestSlots;
  }

  get outstandingCount(): number {
    return this.conn.outstandingCount;
  }

  request(index: number, begin: number, length: number): boolean {
    return this.conn.request(index, begin, length);
  }

  isRequested(index: number, begin: number): boolean {
    return this.conn.isRequested(index, begin);
  }

  requestsIn(piece: number): boolean {
    return this.conn.hasRequestsIn(piece);
  }

  has(piece: number): boolean {
    return this.conn.peerHas(piece);
  }

  get remotePieceCount(): number {
    return this.conn.peerPieceCount;
  }

  get peerChoking(): boolean {
    return this.conn.peerChoking;
  }

  get peerInterested(): boolean {
    return this.conn.peerInterested;
  }

  get amChoking(): boolean {
    return this.conn.amChoking;
  }

  get amInterested(): boolean {
    return this.conn.amInterested;
  }

  downloadRate(): number {
    return this.conn.downloadRate();
  }

  uploadRate(): number {
    return this.conn.uploadRate();
  }

  cancel(index: number, begin: number, length: number): void {
    this.conn.cancel(index, begin, length);
  }

  sendBlock(index: number, begin: number, bytes: Uint8Array, onWritten?: () => void): boolean {
    return this.conn.sendPiece(index, begin, bytes, onWritten);
  }

  reject(index: number, begin: number, length: number): void {
    this.conn.rejectRequest(index, begin, length);
  }

  have(index: number): void {
    this.conn.have(index);
  }

  announcePieces(bits: Uint8Array, count: number): void {
    let have = 0;
    for (let i = 0; i < count; i++) if (((bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0) have++;
    this.conn.sendBitfield(bits.slice(0, Math.ceil(count / 8)), have, count);
  }

  choke(choked: boolean): void {
    if (choked) this.conn.choke();
    else this.conn.unchoke();
  }

  interested(interested: boolean): void {
    this.conn.interested(interested);
  }

  close(reason?: CodedError): void {
    this.closedLink = true;
    this.pexTimer?.cancel();
    this.conn.close(reason);
  }
}

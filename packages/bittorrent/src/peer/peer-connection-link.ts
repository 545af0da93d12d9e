import type { PeerLink, PeerLinkEvents } from '../session/peer-link.ts';
import type { CodedError, Transport } from '../transport.ts';
import { PeerConnection, type PeerConnectionOptions } from './peer-connection.ts';
import type { PeerEvents } from './peer-events.ts';

/**
 * The engine's {@link PeerLink} seam over a {@link PeerConnection}. The session keeps its own
 * request bookkeeping, so every request the connection refuses (choked, pipeline full) or
 * times out comes back as `rejected` (the session's handlers are idempotent per block);
 * choke and close endings are left to the session's own `choked`/`closed` handling.
 */
export class PeerConnectionLink implements PeerLink {
  readonly conn: PeerConnection;
  private events: PeerLinkEvents | undefined;
  private readonly defer: (fn: () => void) => void;
  private refused: Array<[number, number, number]> = [];
  private readonly flushRefusedBound = () => this.flushRefused();
  private readonly handlers: PeerEvents;

  constructor(
    transport: Transport,
    options: PeerConnectionOptions,
    hasPiece: (index: number) => boolean = () => true,
  ) {
    this.conn = new PeerConnection(transport, options);
    this.defer = options.defer ?? ((fn) => queueMicrotask(fn));
    const ev = () => this.events;
    this.handlers = {
      handshake: (c, hs) => ev()?.ready({ peerId: hs.peerId.slice(), fast: c.supportsFast }),
      pieces: (c) => ev()?.bitfield(c.remotePieces()),
      have: (_c, i) => ev()?.have(i),
      choked: () => ev()?.choked(true),
      unchoked: () => ev()?.choked(false),
      interest: (_c, yes) => ev()?.interested(yes),
      hasPiece: (_c, i) => hasPiece(i),
      request: (_c, i, b, l) => ev()?.request(i, b, l),
      cancelled: (_c, i, b, l) => ev()?.cancel(i, b, l),
      block: (_c, i, b, data) => ev()?.block(i, b, data),
      requestEnded: (_c, i, b, l, why) => {
        if (why === 'rejected' || why === 'timeout') ev()?.rejected(i, b, l);
      },
      allowedFast: () => {},
      suggest: () => {},
      port: () => {},
      extended: () => {},
      drain: () => ev()?.drain(),
      closed: (_c, reason) => ev()?.closed(reason),
    };
  }

  get remote() {
    return this.conn.transport.remote;
  }

  get bufferedAmount(): number {
    return this.conn.sendBuffered;
  }

  start(events: PeerLinkEvents): void {
    this.events = events;
    this.conn.start(this.handlers);
  }

  request(index: number, begin: number, length: number): void {
    if (this.conn.request(index, begin, length)) return;
    // Hand the refusal back later, never re-entering the caller's loop.
    if (this.refused.length === 0) this.defer(this.flushRefusedBound);
    this.refused.push([index, begin, length]);
  }

  private flushRefused(): void {
    const list = this.refused;
    this.refused = [];
    for (const [i, b, l] of list) this.events?.rejected(i, b, l);
  }

  cancel(index: number, begin: number, length: number): void {
    this.conn.cancel(index, begin, length);
  }

  sendBlock(index: number, begin: number, bytes: Uint8Array): boolean {
    return this.conn.sendPiece(index, begin, bytes);
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
    this.conn.close(reason);
  }
}

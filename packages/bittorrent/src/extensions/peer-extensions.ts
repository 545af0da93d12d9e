import type { PeerConnection } from '../peer/peer-connection.ts';
import { codedError, type PeerAddress } from '../transport.ts';
import {
  decodeExtensionHandshake,
  type ExtensionHandshake,
  encodeExtensionHandshake,
  LOCAL_EXTENSION_IDS,
} from './extension-handshake.ts';
import { decodeHolepunch, encodeHolepunch, type HolepunchMessage } from './ut-holepunch.ts';
import {
  decodeMetadataMessage,
  encodeMetadataMessage,
  METADATA_PIECE_SIZE,
  metadataReply,
} from './ut-metadata.ts';
import { decodePex, PexInbox, type PexMessage, PexOutbox } from './ut-pex.ts';

/** What the extensions of one peer report to their owner. */
export interface PeerExtensionEvents {
  /** The remote extension handshake (its `reqq` is already applied to the connection). */
  handshake(conn: PeerConnection, h: ExtensionHandshake): void;
  /** A metadata piece we asked for (not yet verified: feed it to a MetadataAssembler). */
  metadata(conn: PeerConnection, piece: number, totalSize: number, data: Uint8Array): void;
  /** The peer declined a metadata piece. */
  metadataRejected(conn: PeerConnection, piece: number): void;
  /** Peers learnt from PEX. */
  pex(conn: PeerConnection, msg: PexMessage): void;
  /** A BEP 55 hole-punching message (only when `holepunch` is on). */
  holepunch?(conn: PeerConnection, msg: HolepunchMessage): void;
}

/** Options of {@link PeerExtensions}. */
export interface PeerExtensionsOptions {
  /** `v` in our handshake. */
  readonly client?: string;
  /** Our listen port (`p`). */
  readonly listenPort?: number;
  /** Our `reqq` (should equal the connection's maxIncomingRequests). */
  readonly reqq?: number;
  /** The info dictionary when we have it (we serve ut_metadata from it), else undefined. */
  readonly info: () => Uint8Array | undefined;
  /** Exchange peers (off for private torrents, BEP 27). */
  readonly pex: boolean;
  /** Offer and take BEP 55 `ut_holepunch` (relay rendezvous for peers behind NATs). */
  readonly holepunch?: boolean;
  readonly now: () => number;
}

/**
 * BEP 10 on one {@link PeerConnection}: sends our extension handshake, reads theirs, serves
 * ut_metadata from our info dictionary, asks for metadata pieces, and sends and receives
 * ut_pex at BEP 11's rate. Hostile payloads close the connection with a coded reason.
 */
export class PeerExtensions {
  /** The remote's handshake once received. */
  remote: ExtensionHandshake | undefined;
  private readonly outbox = new PexOutbox();
  private readonly inbox = new PexInbox();
  private metadataRequests = 0;

  constructor(
    readonly conn: PeerConnection,
    private readonly options: PeerExtensionsOptions,
    private readonly events: PeerExtensionEvents,
  ) {}

  /** Sends our extension handshake (call on the connection's `handshake` event). */
  sendHandshake(): void {
    if (!this.conn.supportsExtended) return;
    const info = this.options.info();
    const m: Record<string, number> = { ut_metadata: LOCAL_EXTENSION_IDS.ut_metadata };
    if (this.options.pex) m.ut_pex = LOCAL_EXTENSION_IDS.ut_pex;
    if (this.options.holepunch) m.ut_holepunch = LOCAL_EXTENSION_IDS.ut_holepunch;
    const yourip = ipBytes(this.conn.transport.remote.address);
    this.conn.sendExtended(
      0,
      encodeExtensionHandshake({
        m,
        v: this.options.client,
        p: this.options.listenPort,
        reqq: this.options.reqq,
        metadataSize: info?.length,
        yourip,
      }),
    );
  }

  /** The remote's id for an extension, when it supports it. */
  remoteId(name: string): number | undefined {
    const id = this.remote?.m[name];
    return id !== undefined && id > 0 ? id : undefined;
  }

  /** Metadata size the remote announced. */
  get remoteMetadataSize(): number | undefined {
    return this.remote?.metadataSize;
  }

  /** Asks for one metadata piece; false when the peer does not serve ut_metadata. */
  requestMetadata(piece: number): boolean {
    const id = this.remoteId('ut_metadata');
    if (id === undefined || this.remote?.metadataSize === undefined) return false;
    this.conn.sendExtended(id, encodeMetadataMessage({ type: 'request', piece }));
    return true;
  }

  /** Sends a PEX update when due (BEP 11: at most once a minute); call it on a timer. */
  sendPex(connected: readonly (PeerAddress & { flags?: number })[]): boolean {
    const id = this.remoteId('ut_pex');
    if (!this.options.pex || id === undefined) return false;
    const payload = this.outbox.next(this.options.now(), connected);
    if (!payload) return false;
    this.conn.sendExtended(id, payload);
    return true;
  }

  /** Sends a BEP 55 message; false when the peer does not take ut_holepunch. */
  sendHolepunch(msg: HolepunchMessage): boolean {
    const id = this.remoteId('ut_holepunch');
    if (!this.options.holepunch || id === undefined) return false;
    this.conn.sendExtended(id, encodeHolepunch(msg));
    return true;
  }

  /** Routes an extended message (call on the connection's `extended` event). */
  onExtended(extId: number, payload: Uint8Array): void {
    if (extId === 0) this.onHandshake(payload);
    else if (extId === LOCAL_EXTENSION_IDS.ut_metadata) this.onMetadata(payload);
    else if (extId === LOCAL_EXTENSION_IDS.ut_pex && this.options.pex) this.onPex(payload);
    else if (extId === LOCAL_EXTENSION_IDS.ut_holepunch && this.options.holepunch) {
      const d = decodeHolepunch(payload);
      if (!d.ok) this.conn.close(d.error);
      else this.events.holepunch?.(this.conn, d.value);
    }
    // An id we never assigned: BEP 10 lets us ignore it.
  }

  private onHandshake(payload: Uint8Array): void {
    const d = decodeExtensionHandshake(payload);
    if (!d.ok) {
      this.conn.close(d.error);
      return;
    }
    // A repeated handshake updates the fields it carries (BEP 10).
    this.remote = this.remote
      ? { ...this.remote, ...d.value, m: { ...this.remote.m, ...d.value.m } }
      : d.value;
    if (d.value.reqq !== undefined) this.conn.setRemoteRequestQueue(d.value.reqq);
    this.events.handshake(this.conn, this.remote);
  }

  private onMetadata(payload: Uint8Array): void {
    const d = decodeMetadataMessage(payload);
    if (!d.ok) {
      this.conn.close(d.error);
      return;
    }
    const msg = d.value;
    if (msg.type === 'request') {
      const id = this.remoteId('ut_metadata');
      if (id === undefined) return;
      const info = this.options.info();
      // Each request of ~30 bytes costs us a 16 KiB reply: a peer may fetch the metadata a few
      // times over (retries), not use us as an amplifier.
      const allowed = 4 * Math.ceil((info?.length ?? 0) / METADATA_PIECE_SIZE) + 16;
      if (++this.metadataRequests > allowed) {
        this.conn.close(codedError('BT_METADATA_FLOOD', `more than ${allowed} ut_metadata requests`));
        return;
      }
      this.conn.sendExtended(
        id,
        info ? metadataReply(info, msg.piece) : encodeMetadataMessage({ type: 'reject', piece: msg.piece }),
      );
    } else if (msg.type === 'data') {
      this.events.metadata(this.conn, msg.piece, msg.totalSize, msg.data);
    } else {
      this.events.metadataRejected(this.conn, msg.piece);
    }
  }

  private onPex(payload: Uint8Array): void {
    const verdict = this.inbox.admit(this.options.now());
    if (verdict === 'flood') {
      this.conn.close(codedError('BT_PEX_FLOOD', 'PEX messages far more often than once a minute'));
      return;
    }
    if (verdict === 'ignore') return;
    const d = decodePex(payload);
    if (!d.ok) {
      this.conn.close(d.error);
      return;
    }
    this.events.pex(this.conn, d.value);
  }
}

function ipBytes(address: string | undefined): Uint8Array | undefined {
  if (!address) return undefined;
  const parts = address.split('.');
  if (parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) < 256)) {
    return Uint8Array.from(parts.map(Number));
  }
  return undefined;
}

import { type CodedError, codedError, type Transport } from '../transport.ts';
import { WireDecoder } from '../wire/decoder.ts';
import { encodeHandshake } from '../wire/handshake.ts';
import { MessageWriter } from '../wire/message-writer.ts';
import { CHOKE, HAVE_ALL, HAVE_NONE, INTERESTED, NOT_INTERESTED, UNCHOKE } from '../wire/messages.ts';
import type { PeerLink, PeerLinkEvents } from './peer-link.ts';

export interface CodecPeerLinkOptions {
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  readonly pieceCount: number;
}

/**
 * A {@link PeerLink} straight over wire's codec: handshake, message dispatch, command encoding.
 * It holds no policy (the session decides everything) and is meant to be replaced by wire's
 * PeerConnection, which adds the extension protocol; see notes.
 */
export class CodecPeerLink implements PeerLink {
  private readonly decoder: WireDecoder;
  private readonly writer: MessageWriter;
  private events: PeerLinkEvents | undefined;
  private fast = false;
  private handshaken = false;
  private flushQueued = false;

  constructor(
    private readonly transport: Transport,
    private readonly options: CodecPeerLinkOptions,
  ) {
    this.decoder = new WireDecoder({ handshake: true, pieceCount: options.pieceCount });
    this.writer = new MessageWriter(transport);
  }

  get remote() {
    return this.transport.remote;
  }

  get bufferedAmount(): number {
    return this.transport.bufferedAmount + this.writer.pending;
  }

  start(events: PeerLinkEvents): void {
    this.events = events;
    this.writer.writeRaw(
      encodeHandshake({ infoHash: this.options.infoHash, peerId: this.options.peerId, fast: true }),
    );
    this.transport.start({
      data: (chunk) => this.onData(chunk),
      drain: () => this.events?.drain(),
      close: (reason) => {
        this.events?.closed(reason);
      },
    });
  }

  private onData(chunk: Uint8Array): void {
    this.decoder.push(chunk);
    const ev = this.events!;
    for (let m = this.decoder.next(); m !== undefined && !this.transport.closed; m = this.decoder.next()) {
      switch (m.type) {
        case 'handshake':
          if (!equal(m.infoHash, this.options.infoHash)) {
            this.close(codedError('BT_PEER_WRONG_TORRENT', 'handshake for another torrent'));
            return;
          }
          this.fast = m.fast;
          this.handshaken = true;
          ev.ready({ peerId: m.peerId.slice(), fast: m.fast });
          break;
        case 'error':
          if (m.fatal) {
            this.close(codedError(m.error.code, m.error.message));
            return;
          }
          break;
        case 'choke':
          ev.choked(true);
          break;
        case 'unchoke':
          ev.choked(false);
          break;
        case 'interested':
          ev.interested(true);
          break;
        case 'not-interested':
          ev.interested(false);
          break;
        case 'have':
          ev.have(m.index);
          break;
        case 'bitfield':
          ev.bitfield(m.bits);
          break;
        case 'have-all':
          ev.bitfield(undefined);
          break;
        case 'have-none':
          ev.bitfield(new Uint8Array(Math.ceil(this.options.pieceCount / 8)));
          break;
        case 'request':
          ev.request(m.index, m.begin, m.length);
          break;
        case 'piece':
          ev.block(m.index, m.begin, m.block);
          break;
        case 'cancel':
          ev.cancel(m.index, m.begin, m.length);
          break;
        case 'reject':
          ev.rejected(m.index, m.begin, m.length);
          break;
        default:
          break; // keep-alive, port, suggest, allowed-fast, extended, v2 hashes: not used yet
      }
    }
    this.scheduleFlush();
  }

  close(reason?: CodedError): void {
    if (this.transport.closed) return;
    this.writer.flush();
    this.transport.close(reason);
    // The transport reports the close to `events.closed` through its handler.
  }

  request(index: number, begin: number, length: number): void {
    this.writer.write({ type: 'request', index, begin, length });
    this.scheduleFlush();
  }

  cancel(index: number, begin: number, length: number): void {
    this.writer.write({ type: 'cancel', index, begin, length });
    this.scheduleFlush();
  }

  sendBlock(index: number, begin: number, bytes: Uint8Array): boolean {
    this.writer.writePiece(index, begin, bytes);
    return this.writer.flush();
  }

  reject(index: number, begin: number, length: number): void {
    if (!this.fast) return;
    this.writer.write({ type: 'reject', index, begin, length });
    this.scheduleFlush();
  }

  have(index: number): void {
    this.writer.write({ type: 'have', index });
    this.scheduleFlush();
  }

  announcePieces(bits: Uint8Array, count: number): void {
    let all = count > 0;
    let none = true;
    for (let i = 0; i < count; i++) {
      const set = ((bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0;
      if (set) none = false;
      else all = false;
    }
    if (this.fast && all) this.writer.write(HAVE_ALL);
    else if (this.fast && none) this.writer.write(HAVE_NONE);
    else if (!none) this.writer.write({ type: 'bitfield', bits: bits.slice() });
    this.scheduleFlush();
  }

  choke(choked: boolean): void {
    this.writer.write(choked ? CHOKE : UNCHOKE);
    this.scheduleFlush();
  }

  interested(interested: boolean): void {
    this.writer.write(interested ? INTERESTED : NOT_INTERESTED);
    this.scheduleFlush();
  }

  /** True once the remote's handshake arrived. */
  get ready(): boolean {
    return this.handshaken;
  }

  /** Batches every message of one tick into one transport write. */
  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      if (!this.transport.closed) this.writer.flush();
    });
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

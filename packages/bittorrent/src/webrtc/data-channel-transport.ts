import {
  type CodedError,
  codedError,
  type RemoteInfo,
  type Transport,
  type TransportHandler,
} from '../transport.ts';
import type { RtcDataChannelLike, RtcPeerConnectionLike } from './rtc-types.ts';

/**
 * SCTP messages larger than 16 KiB are not portable between WebRTC stacks (Chromium and
 * libdatachannel agree up to 256 KiB, older stacks do not), so writes are cut at 16 KiB,
 * as WebTorrent's peers do. The wire decoder reassembles frames across chunks anyway.
 */
const MAX_MESSAGE = 16 * 1024;
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

/**
 * A {@link Transport} over an open RTCDataChannel. Data channels cannot stop the remote
 * from sending, so pause() holds delivered chunks until resume(); the peer's request
 * pipeline bounds how much can arrive meanwhile.
 */
export class DataChannelTransport implements Transport {
  readonly remote: RemoteInfo;
  #handler: TransportHandler | null = null;
  #closed = false;
  #paused = false;
  #held: Uint8Array[] = [];
  #wantDrain = false;

  constructor(
    private readonly channel: RtcDataChannelLike,
    private readonly connection: RtcPeerConnectionLike | null,
    remote: Partial<RemoteInfo> & { outgoing: boolean },
  ) {
    this.remote = { kind: 'webrtc', ...remote };
    channel.binaryType = 'arraybuffer';
    channel.bufferedAmountLowThreshold = LOW_WATER;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get bufferedAmount(): number {
    return this.#closed ? 0 : this.channel.bufferedAmount;
  }

  start(handler: TransportHandler): void {
    if (this.#handler) throw new Error('DataChannelTransport.start called twice');
    this.#handler = handler;
    this.channel.onmessage = (ev) => this.#receive(ev.data);
    this.channel.onbufferedamountlow = () => {
      if (this.#wantDrain && !this.#closed) {
        this.#wantDrain = false;
        handler.drain();
      }
    };
    this.channel.onclose = () => this.#finish();
    this.channel.onerror = (ev) =>
      this.#finish(
        codedError('BT_WEBRTC_CHANNEL_ERROR', 'the data channel failed', (ev as { error?: unknown })?.error),
      );
    if (this.channel.readyState === 'closed' || this.channel.readyState === 'closing') this.#finish();
  }

  write(chunk: Uint8Array): boolean {
    if (this.#closed) return false;
    try {
      for (let at = 0; at < chunk.length; at += MAX_MESSAGE) {
        this.channel.send(chunk.subarray(at, Math.min(chunk.length, at + MAX_MESSAGE)));
      }
    } catch (cause) {
      this.close(codedError('BT_WEBRTC_SEND_FAILED', 'sending on the data channel failed', cause));
      return false;
    }
    if (this.channel.bufferedAmount > HIGH_WATER) {
      this.#wantDrain = true;
      return false;
    }
    return true;
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    const held = this.#held;
    this.#held = [];
    for (const chunk of held) {
      if (this.#closed || this.#paused) {
        this.#held.push(chunk);
        continue;
      }
      this.#handler?.data(chunk);
    }
  }

  close(reason?: CodedError): void {
    this.#finish(reason);
  }

  #receive(data: unknown): void {
    if (this.#closed) return;
    let chunk: Uint8Array;
    if (data instanceof ArrayBuffer) chunk = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) chunk = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else {
      this.close(codedError('BT_WEBRTC_TEXT_MESSAGE', 'the peer sent a text message on a binary channel'));
      return;
    }
    if (this.#paused) this.#held.push(chunk);
    else this.#handler?.data(chunk);
  }

  /**
   * Ends the transport however it ends (our close, the remote's, an error): the peer
   * connection is closed too, since this transport is its only owner. One left open when
   * the remote went away holds its native threads and sockets (libdatachannel frees them
   * only on close) and stalls libdatachannel's global cleanup at shutdown.
   */
  #finish(reason?: CodedError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#held = [];
    this.channel.onmessage = null;
    this.channel.onbufferedamountlow = null;
    this.channel.onclose = null;
    this.channel.onerror = null;
    try {
      this.channel.close();
      this.connection?.close();
    } catch {
      // Closing an already failed connection may throw in some stacks; we are closed either way.
    }
    this.#handler?.close(reason);
  }
}

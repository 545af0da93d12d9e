import type { TimerHandle, Timers } from '../timers.ts';
import { type CodedError, codedError, type Transport } from '../transport.ts';
import { answerOffer, createOffer, type PendingOffer, type SignallingOptions } from './rtc-signalling.ts';
import type { RtcSessionDescription } from './rtc-types.ts';

/**
 * A client of WebTorrent's WebSocket tracker protocol: it announces with WebRTC offers,
 * answers offers the tracker relays from other peers of the swarm, and hands every data
 * channel that opens to the caller as a {@link Transport}. Info-hashes, peer ids and offer
 * ids travel as "binary strings" (one char per byte), as in bittorrent-tracker.
 */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(): void;
}
export type WebSocketFactory = (url: string) => WebSocketLike;

export type WsTrackerEvent =
  | { type: 'update'; complete: number; incomplete: number; interval: number }
  | { type: 'warning'; error: CodedError };

export interface WebSocketTrackerOptions {
  url: string;
  infoHash: Uint8Array;
  peerId: Uint8Array;
  webSocket: WebSocketFactory;
  signalling: SignallingOptions;
  timers: Timers;
  /** Fresh random bytes (offer ids). */
  randomBytes: (n: number) => Uint8Array;
  /** What we report in each announce. */
  stats: () => { uploaded: number; downloaded: number; left: number };
  /** A data channel to a peer of the swarm is open. */
  onTransport: (transport: Transport, peerId: Uint8Array) => void;
  onEvent?: (event: WsTrackerEvent) => void;
  /** Offers per announce (WebTorrent sends at most 5). */
  offers?: number;
  /** Offers without an answer are dropped after this long. */
  offerTimeoutMs?: number;
  /** Answers being negotiated at once; more relayed offers are ignored (a flooding tracker). */
  maxPendingAnswers?: number;
  /**
   * While no data channel is open and data is missing (`stats().left` > 0), announce again
   * (fresh offers) after this long, doubling up
   * to `retryMaxMs` (and never beyond the tracker's interval): a negotiation that failed
   * (an answer lost, ICE too slow under load) is retried in seconds, not minutes.
   */
  retryMinMs?: number;
  retryMaxMs?: number;
}

const OPEN = 1;
const MAX_MESSAGE_CHARS = 256 * 1024;

const binary = (bytes: Uint8Array): string => String.fromCharCode(...bytes);
function fromBinary(text: unknown, length: number): Uint8Array | null {
  if (typeof text !== 'string' || text.length !== length) return null;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c > 255) return null;
    out[i] = c;
  }
  return out;
}
function isDescription(value: unknown, type: 'offer' | 'answer'): value is RtcSessionDescription {
  const v = value as { type?: unknown; sdp?: unknown } | null;
  return typeof v === 'object' && v !== null && v.type === type && typeof v.sdp === 'string';
}

export class WebSocketTrackerClient {
  #socket: WebSocketLike | null = null;
  #pendingOffers = new Map<string, { offer: PendingOffer; timer: TimerHandle }>();
  #pendingAnswers = 0;
  #announceTimer: TimerHandle | null = null;
  #reconnectTimer: TimerHandle | null = null;
  #reconnectDelay = 1_000;
  #intervalMs = 120_000;
  #retryTimer: TimerHandle | null = null;
  #retryDelay: number;
  /** Data channels handed to the caller; a closed one no longer counts as a peer. */
  #live = new Set<Transport>();
  #stopped = false;
  readonly #infoHash: string;
  readonly #peerId: string;

  constructor(private readonly o: WebSocketTrackerOptions) {
    this.#infoHash = binary(o.infoHash);
    this.#peerId = binary(o.peerId);
    this.#retryDelay = o.retryMinMs ?? 2_000;
  }

  /** True while at least one data channel we handed out is open. */
  get connected(): boolean {
    for (const t of this.#live) if (t.closed) this.#live.delete(t);
    return this.#live.size > 0;
  }

  /** Connects and announces `started`; reconnects with backoff if the tracker goes away. */
  start(): void {
    this.#stopped = false;
    this.#connect();
  }

  /** Announces now (e.g. `completed`), with fresh offers unless the event is final. */
  async announce(event?: 'started' | 'completed' | 'stopped'): Promise<void> {
    const socket = this.#socket;
    if (!socket || socket.readyState !== OPEN) return;
    const params: Record<string, unknown> = {
      action: 'announce',
      info_hash: this.#infoHash,
      peer_id: this.#peerId,
      ...this.o.stats(),
      ...(event ? { event } : {}),
    };
    if (event !== 'stopped' && event !== 'completed') {
      const count = this.o.offers ?? 5;
      params.numwant = count;
      params.offers = await this.#makeOffers(count);
    }
    if (socket.readyState !== OPEN) return;
    socket.send(JSON.stringify(params));
    if (event !== 'stopped') this.#retryLater();
  }

  /**
   * Re-announces with back-off while no data channel is open and we still need data (bounded
   * by the interval). A seed does not: leechers' offers reach it at their own announces.
   */
  #retryLater(): void {
    this.#retryTimer?.cancel();
    this.#retryTimer = null;
    if (this.#stopped) return;
    if (this.connected || this.o.stats().left === 0) {
      this.#retryDelay = this.o.retryMinMs ?? 2_000;
      return;
    }
    const delay = Math.min(this.#retryDelay, this.#intervalMs);
    this.#retryDelay = Math.min(this.#retryDelay * 2, this.o.retryMaxMs ?? 60_000);
    this.#retryTimer = this.o.timers.setTimeout(() => {
      this.#retryTimer = null;
      if (this.#stopped || this.connected) return;
      // Unanswered offers are bounded: at most four announces' worth wait for an answer.
      if (this.#pendingOffers.size >= 4 * (this.o.offers ?? 5)) {
        this.#retryLater();
        return;
      }
      void this.announce();
    }, delay);
  }

  #opened(transport: Transport, remoteId: Uint8Array): void {
    this.#live.add(transport);
    this.#retryTimer?.cancel();
    this.#retryTimer = null;
    this.#retryDelay = this.o.retryMinMs ?? 2_000;
    this.o.onTransport(transport, remoteId);
  }

  /** Announces `stopped`, closes the socket and every unanswered offer. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    await this.announce('stopped').catch(() => undefined);
    this.#stopped = true;
    this.#announceTimer?.cancel();
    this.#reconnectTimer?.cancel();
    this.#retryTimer?.cancel();
    for (const { offer, timer } of this.#pendingOffers.values()) {
      timer.cancel();
      offer.cancel();
    }
    this.#pendingOffers.clear();
    this.#socket?.close();
    this.#socket = null;
  }

  #connect(): void {
    const socket = this.o.webSocket(this.o.url);
    this.#socket = socket;
    socket.onopen = () => {
      this.#reconnectDelay = 1_000;
      void this.announce('started');
    };
    socket.onmessage = (ev) => this.#receive(ev.data);
    socket.onerror = () =>
      this.#warn(codedError('BT_WSTRACKER_SOCKET', `WebSocket error talking to ${this.o.url}`));
    socket.onclose = () => {
      if (this.#socket !== socket || this.#stopped) return;
      this.#socket = null;
      this.#announceTimer?.cancel();
      this.#retryTimer?.cancel();
      this.#reconnectTimer = this.o.timers.setTimeout(() => this.#connect(), this.#reconnectDelay);
      this.#reconnectDelay = Math.min(this.#reconnectDelay * 2, 5 * 60_000);
    };
  }

  async #makeOffers(count: number): Promise<{ offer: RtcSessionDescription; offer_id: string }[]> {
    const made = await Promise.allSettled(
      Array.from({ length: count }, () => createOffer(this.o.signalling)),
    );
    const offers: { offer: RtcSessionDescription; offer_id: string }[] = [];
    for (const result of made) {
      if (result.status !== 'fulfilled') continue;
      // Stopped while ICE was gathering: no one will ever answer these.
      if (this.#stopped) {
        result.value.cancel();
        continue;
      }
      const id = binary(this.o.randomBytes(20));
      const timer = this.o.timers.setTimeout(() => {
        this.#pendingOffers.get(id)?.offer.cancel();
        this.#pendingOffers.delete(id);
      }, this.o.offerTimeoutMs ?? 50_000);
      this.#pendingOffers.set(id, { offer: result.value, timer });
      offers.push({ offer: result.value.offer, offer_id: id });
    }
    return offers;
  }

  #receive(raw: unknown): void {
    if (typeof raw !== 'string' || raw.length > MAX_MESSAGE_CHARS) {
      this.#warn(codedError('BT_WSTRACKER_BAD_MESSAGE', 'the tracker sent a non-text or oversized message'));
      return;
    }
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(raw);
    } catch {
      this.#warn(codedError('BT_WSTRACKER_BAD_MESSAGE', 'the tracker sent invalid JSON'));
      return;
    }
    if (typeof data !== 'object' || data === null || data.action !== 'announce') return;
    if (data.info_hash !== this.#infoHash) return;
    if (typeof data['failure reason'] === 'string') {
      this.#warn(codedError('BT_WSTRACKER_FAILURE', `tracker: ${data['failure reason']}`));
      return;
    }
    const interval = Number(data.interval ?? data['min interval']);
    if (Number.isFinite(interval) && interval > 0) this.#schedule(interval * 1000);
    if (typeof data.complete === 'number' && typeof data.incomplete === 'number') {
      this.o.onEvent?.({
        type: 'update',
        complete: data.complete,
        incomplete: data.incomplete,
        interval: this.#intervalMs,
      });
    }
    const remoteId = fromBinary(data.peer_id, 20);
    if (!remoteId || data.peer_id === this.#peerId) return;
    if (isDescription(data.offer, 'offer') && typeof data.offer_id === 'string') {
      void this.#answer(data.offer, data.offer_id, data.peer_id as string, remoteId);
    } else if (isDescription(data.answer, 'answer') && typeof data.offer_id === 'string') {
      const pending = this.#pendingOffers.get(data.offer_id);
      if (!pending) return;
      this.#pendingOffers.delete(data.offer_id);
      pending.timer.cancel();
      void pending.offer.accept(data.answer).then((result) => {
        if (result.ok) this.#opened(result.transport, remoteId);
      });
    }
  }

  async #answer(
    offer: RtcSessionDescription,
    offerId: string,
    toPeer: string,
    remoteId: Uint8Array,
  ): Promise<void> {
    if (this.#pendingAnswers >= (this.o.maxPendingAnswers ?? 10)) return;
    this.#pendingAnswers++;
    try {
      const answered = await answerOffer(offer, this.o.signalling);
      if ('error' in answered) {
        this.#warn(answered.error);
        return;
      }
      const socket = this.#socket;
      if (!socket || socket.readyState !== OPEN) return;
      socket.send(
        JSON.stringify({
          action: 'announce',
          info_hash: this.#infoHash,
          peer_id: this.#peerId,
          to_peer_id: toPeer,
          answer: answered.answer,
          offer_id: offerId,
        }),
      );
      const result = await answered.connected;
      if (result.ok) this.#opened(result.transport, remoteId);
    } catch (cause) {
      // The factory refused (a page at its cap of peer connections) or the stack failed.
      this.#warn(codedError('BT_WEBRTC_UNAVAILABLE', 'no peer connection for a relayed offer', cause));
    } finally {
      this.#pendingAnswers--;
    }
  }

  #schedule(ms: number): void {
    const next = Math.max(ms, 5_000);
    if (next === this.#intervalMs && this.#announceTimer) return;
    this.#intervalMs = next;
    this.#announceTimer?.cancel();
    this.#announceTimer = this.o.timers.setInterval(() => void this.announce(), next);
  }

  #warn(error: CodedError): void {
    this.o.onEvent?.({ type: 'warning', error });
  }

  /** For diagnostics: offers still waiting for an answer. */
  get pendingOffers(): number {
    return this.#pendingOffers.size;
  }
}

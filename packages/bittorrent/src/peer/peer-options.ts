import type { Clock, Timers } from '../timers.ts';

/** The torrent shape a connection checks indices and lengths against. */
export interface PieceLayout {
  readonly pieceCount: number;
  /** The most bytes of `piece` a peer may request (whole pieces in a v2-only torrent). */
  pieceSize(piece: number): number;
}

/** Options of a {@link PeerConnection}; every timeout and limit in milliseconds or counts. */
export interface PeerConnectionOptions {
  /**
   * Our torrent's info-hash (20 bytes). For an incoming connection not yet routed, a function
   * that accepts or refuses the remote's info-hash (we answer with theirs if accepted).
   */
  readonly infoHash: Uint8Array | ((theirs: Uint8Array) => boolean);
  /** Our peer id (20 bytes). */
  readonly peerId: Uint8Array;
  readonly clock: Clock;
  readonly timers: Timers;
  /** Known once we have the metadata (see {@link PeerConnection.setLayout}). */
  readonly layout?: PieceLayout;
  /** Advertise and use BEP 6 (default true). */
  readonly fast?: boolean;
  /** Advertise BEP 10 (default true). */
  readonly extended?: boolean;
  /** Advertise a DHT node (default false). */
  readonly dht?: boolean;
  /** Requests we keep queued from the peer before refusing (our `reqq`, default 500). */
  readonly maxIncomingRequests?: number;
  /** Our own outstanding requests to the peer, at most (default 500). */
  readonly maxOutstandingRequests?: number;
  /** No piece data for this long while requests are outstanding: they time out (default 30 s). */
  readonly requestTimeoutMs?: number;
  readonly handshakeTimeoutMs?: number;
  /** Nothing received for this long closes the connection (default 150 s). */
  readonly idleTimeoutMs?: number;
  /** We send a keep-alive after this long without sending (default 60 s). */
  readonly keepAliveMs?: number;
  /** Runs the write flush later in the same turn (default queueMicrotask; the simulator's own). */
  readonly defer?: (fn: () => void) => void;
}

/** One block request, ours or the peer's. */
export interface BlockRequest {
  readonly index: number;
  readonly begin: number;
  readonly length: number;
}

/** Options with every default filled in. */
export type ResolvedPeerOptions = Required<Omit<PeerConnectionOptions, 'layout' | 'infoHash'>>;

export function resolvePeerOptions(o: PeerConnectionOptions): ResolvedPeerOptions {
  return {
    peerId: o.peerId,
    clock: o.clock,
    timers: o.timers,
    fast: o.fast ?? true,
    extended: o.extended ?? true,
    dht: o.dht ?? false,
    maxIncomingRequests: o.maxIncomingRequests ?? 500,
    maxOutstandingRequests: o.maxOutstandingRequests ?? 500,
    requestTimeoutMs: o.requestTimeoutMs ?? 30_000,
    handshakeTimeoutMs: o.handshakeTimeoutMs ?? 20_000,
    idleTimeoutMs: o.idleTimeoutMs ?? 150_000,
    keepAliveMs: o.keepAliveMs ?? 60_000,
    defer: o.defer ?? ((fn) => queueMicrotask(fn)),
  };
}

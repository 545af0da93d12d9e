/**
 * The one request type every dialect parses into (HTTP, UDP, WebSocket), and the one
 * result type the core answers with. Codecs turn bytes into these and back; the core never
 * sees a transport.
 */
import type { AnnounceEvent } from '@swarmcast/platform';

/** A v1 info-hash as 40 lower-case hex digits. */
export type InfoHash = string & { readonly __brand: 'InfoHash' };

export type Transport = 'http' | 'udp' | 'ws';

/** How a peer is reached: TCP/uTP address (HTTP and UDP clients) or WebRTC via the tracker. */
export type PeerKind = 'tcp' | 'ws';

export interface AnnounceRequest {
  type: 'announce';
  transport: Transport;
  infoHash: InfoHash;
  /** The raw 20-byte peer id; never leaves the live swarm. */
  peerId: Uint8Array;
  /** The address the request came from (or the `ip` the client asked for, when allowed). */
  ip: string;
  port: number;
  uploaded: number;
  downloaded: number;
  left: number;
  event: AnnounceEvent;
  /** Peers wanted; already capped by the codec to the tracker's limit. */
  numwant: number;
  /** HTTP: the client asked for a non-compact dictionary list (compact=0). */
  compact: boolean;
  /** HTTP `no_peer_id=1`. */
  noPeerId: boolean;
  /** Private mode: the passkey from the URL path, or null. */
  passkey: string | null;
  /** The client's key parameter (HTTP `key`, UDP key), used only to tell restarts apart. */
  key: string | null;
  /** The User-Agent header for HTTP and WebSocket (classified, never stored). */
  userAgent: string | null;
}

export interface ScrapeRequest {
  type: 'scrape';
  transport: Transport;
  infoHashes: InfoHash[];
  ip: string;
  passkey: string | null;
}

export type TrackerRequest = AnnounceRequest | ScrapeRequest;

/** A peer as handed back to a client. */
export interface PeerRecord {
  kind: PeerKind;
  /** 4 or 16 address bytes followed by 2 port bytes (BEP 23 / BEP 7 layout); empty for ws. */
  compact: Uint8Array;
  peerId: Uint8Array;
}

export interface SwarmCounts {
  /** Peers with nothing left to download. */
  complete: number;
  incomplete: number;
  /** Times a peer reported `completed` here. */
  downloaded: number;
}

/**
 * Peers already in their compact byte form (BEP 23 and BEP 7 entries back to back), what
 * the in-memory store hands back to a compact announce (see memory-store.ts for why).
 */
export interface PackedPeers {
  /** 6-byte IPv4 entries. */
  v4: Uint8Array;
  /** 18-byte IPv6 entries. */
  v6: Uint8Array;
}

export interface AnnounceResult extends SwarmCounts {
  /** Seconds until the next regular announce. */
  interval: number;
  minInterval: number;
  /** The peers handed back, unless `packed` holds them (then this is empty). */
  peers: PeerRecord[];
  /** Set for a compact announce answered by the in-memory store. */
  packed?: PackedPeers | null;
}

export interface ScrapeResult {
  files: Map<InfoHash, SwarmCounts>;
}

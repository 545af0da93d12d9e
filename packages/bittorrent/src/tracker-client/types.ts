import type { BtError, Result } from '../errors.ts';
import type { PeerAddress } from '../transport.ts';

export type AnnounceEvent = 'started' | 'completed' | 'stopped';

/** One announce, as BEP 3 / BEP 15 define it. */
export interface AnnounceParams {
  /** 20 bytes (a v2 info-hash truncated, BEP 52). */
  readonly infoHash: Uint8Array;
  /** 20 bytes. */
  readonly peerId: Uint8Array;
  readonly port: number;
  readonly uploaded: number;
  readonly downloaded: number;
  readonly left: number;
  readonly event?: AnnounceEvent;
  /** Peers wanted (default 50). */
  readonly numwant?: number;
  /** Random per-session key so a tracker can tell us from others behind one address. */
  readonly key?: number;
  /** BEP 3: the `tracker id` the tracker gave us earlier. */
  readonly trackerId?: string;
}

/** A tracker's answer to an announce. */
export interface AnnounceReply {
  /** Seconds until the next regular announce. */
  readonly interval: number;
  readonly minInterval?: number;
  /** Seeders and leechers, when the tracker says. */
  readonly complete?: number;
  readonly incomplete?: number;
  readonly peers: readonly PeerAddress[];
  readonly warning?: string;
  readonly trackerId?: string;
}

/** Scrape counts of one torrent. */
export interface ScrapeEntry {
  readonly complete: number;
  readonly incomplete: number;
  readonly downloaded: number;
}

/** A tracker client of one protocol (HTTP in core, UDP in the Node adapter). */
export interface Announcer {
  readonly url: string;
  announce(params: AnnounceParams, signal?: AbortSignal): Promise<Result<AnnounceReply>>;
  /** Scrape counts by hex info-hash. */
  scrape(
    infoHashes: readonly Uint8Array[],
    signal?: AbortSignal,
  ): Promise<Result<ReadonlyMap<string, ScrapeEntry>>>;
}

export type { BtError };

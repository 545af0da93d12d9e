import type { BtError } from '../errors.ts';
import type { PeerAddress } from '../transport.ts';

/**
 * Something that finds peers for one torrent: a tracker, the DHT, a web seed list... The
 * session runs each source with an AbortSignal; sources report batches of addresses and
 * non-fatal problems, and never throw.
 */
export interface PeerSource {
  /** For logs: 'tracker http://…/announce', 'dht'. */
  readonly name: string;
  /** Runs until `signal` aborts (trackers then send a best-effort `stopped`). */
  run(handler: PeerSourceHandler, signal: AbortSignal): Promise<void>;
  /** The download completed: trackers announce `completed` now. */
  completed?(): void;
}

export interface PeerSourceHandler {
  /** Addresses found (IPv4 dotted or IPv6 text, with port); duplicates are possible. */
  peers(found: readonly PeerAddress[]): void;
  /** A non-fatal problem: a tracker failure reason, a timeout, a warning message. */
  warning?(error: BtError): void;
}

/** What trackers are told about our transfer, asked for at each announce. */
export interface TransferStats {
  readonly uploaded: number;
  readonly downloaded: number;
  /** Bytes still missing (0 for a seed). */
  readonly left: number;
}

import type { Clock, Db } from '@swarmcast/platform';

/** A torrent made for a published file. */
export interface MadeTorrent {
  torrent: Uint8Array;
  infoHashV1: string;
  infoHashV2: string | null;
  magnet: string;
}

/**
 * The BitTorrent side of publishing, supplied by the node that runs the catalog (the
 * torrent maker and the seeding engine of @swarmcast/bittorrent). Absent in a catalog-only
 * process: episodes are then published on HTTP only and get their torrent later.
 */
export interface TorrentTools {
  /** Makes a hybrid (v1+v2) torrent of one file with these trackers and web seeds. */
  make(
    file: { path: string; name: string },
    o: { announce: string[]; webSeeds: string[] },
  ): Promise<MadeTorrent>;
  /**
   * Starts seeding `path` as `torrent`; resolves once the node serves it. Publishing calls it
   * right after `make` hashed the same file, so it need not hash the data again. Absent
   * while the node has no engine: the web seed alone then serves torrent clients.
   */
  seed?(torrent: Uint8Array, path: string): Promise<void>;
  /** Stops seeding an info-hash (hex, the v1 wire form) whose episode was deleted. */
  unseed?(infoHash: string): Promise<void>;
}

/** Everything the catalog needs from the node it runs in. */
export interface CatalogContext {
  db: Db;
  clock: Clock;
  /** Published files live here, under "<show-slug>/...". The origin serves this folder. */
  mediaDir: string;
  /** Uploads wait here until they are published or dropped. */
  uploadsDir: string;
  maxUploadBytes: number;
  /** The public URL of a published file (the origin's URL for it). */
  mediaUrl(path: string): string;
  /** This node's public base URL, e.g. "http://127.0.0.1:8080" (no trailing slash). */
  publicUrl(): string;
  /** This node's tracker announce URLs (HTTP, UDP, WebSocket). */
  trackers(): string[];
  torrents: TorrentTools | null;
  /** Where failures whose details must not reach clients are written (the node's log). */
  log?: (message: string, err: unknown) => void;
  /**
   * Called after anything in a show's feed changed (publish, edit, delete, settings, an
   * episode going live); the node pings WebSub subscribers and Podping from here. Absent:
   * nobody is told.
   */
  onFeedChange?(showSlug: string): void;
  /**
   * Called when an episode is set to go live at a future time (published or rescheduled with
   * a `publishAt` still to come); the node's go-live timer wakes then instead of at its next
   * minute. Absent: the timer finds it within a minute.
   */
  onSchedule?(publishAt: Date): void;
}

/**
 * Creative URLs are stored relative to the node ("/ads/media/<file>") and made absolute when
 * served, with the node's public URL of that moment: a node that moves to another host name
 * keeps serving working media, torrent and magnet links. Absolute URLs (creatives stored by
 * an older version, or hosted elsewhere) pass through unchanged.
 *
 * The magnet's web seed is added here for the same reason; the .torrent's `url-list` is
 * added when the file is served (`withWebSeed`).
 */
import type { Creative } from './model.ts';

export function absoluteUrl(url: string, base: string): string {
  return url.startsWith('/') ? `${base.replace(/\/+$/, '')}${url}` : url;
}

// One presented copy per creative and base: records are immutable (a change is a new object),
// so the copy is only rebuilt when the creative or the public URL changes. Keeping the same
// object also keeps the VAST template cache (keyed by creative) warm.
const presented = new WeakMap<Creative, { base: string; creative: Creative }>();

/** The creative as players and advertisers see it: every URL absolute against `base`. */
export function presentCreative(c: Creative, base: string): Creative {
  const hit = presented.get(c);
  if (hit && hit.base === base) return hit.creative;
  const mediaUrl = absoluteUrl(c.mediaUrl, base);
  const out: Creative = {
    ...c,
    mediaUrl,
    alternates: c.alternates.map((a) => ({ ...a, url: absoluteUrl(a.url, base) })),
  };
  if (c.torrent) {
    const magnet = c.torrent.magnetUri;
    out.torrent = {
      ...c.torrent,
      torrentUrl: absoluteUrl(c.torrent.torrentUrl, base),
      magnetUri: /[?&]ws=/.test(magnet) ? magnet : `${magnet}&ws=${encodeURIComponent(mediaUrl)}`,
    };
  }
  presented.set(c, { base, creative: out });
  return out;
}

/**
 * A stored .torrent with `url-list` (BEP 19 web seed) set to `url`, unless it has one. The
 * top-level dictionary's keys sort before "url-list" ("announce...", "created by",
 * "creation date", "info"), so appending the key before the final "e" keeps the dictionary
 * canonical, and the info dictionary (the info-hash) is untouched.
 */
export function withWebSeed(torrent: Buffer, url: string): Buffer {
  if (torrent.includes('8:url-list') || torrent.at(-1) !== 0x65 /* e */) return torrent;
  const u = Buffer.from(url);
  return Buffer.concat([
    torrent.subarray(0, -1),
    Buffer.from(`8:url-listl${u.length}:`),
    u,
    Buffer.from('ee'),
  ]);
}

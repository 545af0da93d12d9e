/**
 * Creatives are published like episodes: a v1 torrent of the media file whose web seed is
 * our own media URL (BEP 19), so a player that speaks BitTorrent can fetch a popular ad from
 * peers and fall back to HTTP. The .torrent is written beside the file and served at
 * `<media URL>.torrent`; VAST carries both in the swarmcast-torrent Extension.
 *
 * `url` is the node-relative media path: the web seed (the torrent's `url-list`, the
 * magnet's `ws`) is added with the node's public URL when served (creative-urls.ts), so a
 * node that changes its host name does not hand out stale links.
 */
import { stat, writeFile } from 'node:fs/promises';
import { formatMagnet, toHex } from '@swarmcast/bittorrent';
import { createTorrent } from '@swarmcast/bittorrent/node';
import type { PublishCreative } from './http/context.ts';

export interface CreativeTorrentOptions {
  /** Tracker announce URLs (one tier); empty for trackerless (web seed and DHT only). */
  announce: readonly string[];
}

export function creativeTorrentPublisher(o: CreativeTorrentOptions): PublishCreative {
  return async ({ path, url, name }) => {
    const made = await createTorrent(path, {
      name,
      webSeeds: [],
      ...(o.announce.length > 0 ? { announce: [o.announce] } : {}),
      createdBy: 'Swarmcast ads',
    });
    if (!made.ok || !made.value.infoHash.v1) return null;
    await writeFile(`${path}.torrent`, made.value.torrent);
    const length = (await stat(path)).size;
    const magnetUri = formatMagnet({
      infoHash: made.value.infoHash,
      name,
      trackers: o.announce,
      webSeeds: [],
      length,
      peers: [],
    });
    return { infoHash: toHex(made.value.infoHash.v1), magnetUri, torrentUrl: `${url}.torrent` };
  };
}

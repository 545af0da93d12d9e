import { stat } from 'node:fs/promises';
import { formatMagnet, toHex } from '@swarmcast/bittorrent';
import { createTorrent } from '@swarmcast/bittorrent/node';
import type { MadeTorrent } from './context.ts';

/**
 * Makes the torrent of one published file: hybrid (v1 + v2, so v1-only clients such as
 * aria2 and v2-aware ones such as libtorrent both join the same swarm), one tracker per
 * tier in the order given (HTTP, UDP, WebSocket), and the origin URL as BEP 19 web seed,
 * which keeps the file reachable when no peer is online. Throws with the BT_ code when
 * hashing fails: the publish pipeline turns that into CAT_TORRENT_FAILED.
 */
export async function makeHybridTorrent(
  file: { path: string; name: string },
  o: { announce: string[]; webSeeds: string[]; signal?: AbortSignal },
): Promise<MadeTorrent> {
  const r = await createTorrent(file.path, {
    name: file.name,
    version: 'hybrid',
    announce: o.announce.map((url) => [url]),
    webSeeds: o.webSeeds,
    createdBy: 'Swarmcast',
    ...(o.signal ? { signal: o.signal } : {}),
  });
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  const { v1, v2 } = r.value.infoHash;
  if (!v1) throw new Error('a hybrid torrent must have a v1 info-hash');
  const length = (await stat(file.path)).size;
  return {
    torrent: r.value.torrent,
    infoHashV1: toHex(v1),
    infoHashV2: v2 ? toHex(v2) : null,
    magnet: formatMagnet({
      infoHash: r.value.infoHash,
      name: file.name,
      length,
      trackers: o.announce,
      webSeeds: o.webSeeds,
      peers: [],
    }),
  };
}

import { RelayedSource } from '../discovery/relayed-source.ts';
import { MetadataFetcher } from '../extensions/fetch-metadata.ts';
import {
  magnetLayerNeeds,
  magnetMetadataCheck,
  magnetWireHash,
  metainfoFromMagnet,
  parsePeerAddress,
} from '../extensions/magnet-metainfo.ts';
import type { Magnet } from '../magnet.ts';
import type { Metainfo } from '../metainfo/model.ts';
import { systemClock, systemTimers } from '../timers.ts';
import type { PeerAddress } from '../transport.ts';
import { nodeHasher } from './hasher.ts';
import type { SwarmNode } from './swarm-node.ts';

export interface MagnetMetadata {
  readonly meta: Metainfo;
  /** The magnet's trackers (and the DHT), still running: hand them to `SwarmNode.add`. */
  readonly sources: readonly RelayedSource[];
  /** Every address found while fetching (the session dials them too). */
  readonly peers: readonly PeerAddress[];
}

export interface MagnetMetadataOptions {
  /** Peers to ask besides the magnet's `x.pe` and what trackers and the DHT find. */
  readonly peers?: readonly PeerAddress[];
  readonly signal?: AbortSignal;
  /** Called with each non-fatal problem (a tracker that fails...). */
  readonly onWarning?: (e: { code: string; message: string }) => void;
}

/**
 * The metadata step of a bare magnet link (BEP 9): announces to the link's trackers (and
 * the node's DHT), asks the peers found for the info dict, checks it against the btih and
 * btmh, and returns the torrent. Throws an Error with a BT_ `code` when it cannot.
 */
export async function fetchMagnetMetadata(
  node: SwarmNode,
  magnet: Magnet,
  options: MagnetMetadataOptions = {},
): Promise<MagnetMetadata> {
  const check = magnetMetadataCheck(magnet, nodeHasher);
  const layers = magnetLayerNeeds(magnet, nodeHasher);
  const fetcher = new MetadataFetcher({
    ...check,
    ...(layers ? { layers } : {}),
    peerId: node.peerId,
    dialer: node.dialerFor(check.infoHash),
    clock: systemClock,
    timers: systemTimers,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const found: PeerAddress[] = [];
  const seen = new Set<string>();
  const learn = (list: readonly PeerAddress[]) => {
    for (const a of list) {
      const k = `${a.host}|${a.port}`;
      if (seen.has(k) || seen.size >= 2000) continue;
      seen.add(k);
      found.push(a);
    }
    fetcher.addPeers(list);
  };
  // Until the torrent's size is known, tell trackers we miss the link's `xl` (or something):
  // a tracker may leave seeds out of the reply to a peer with nothing left to download.
  const left = magnet.length && magnet.length > 0 ? magnet.length : 1;
  const sources = node
    .peerSources(magnetWireHash(magnet), [magnet.trackers], () => ({ uploaded: 0, downloaded: 0, left }))
    .map(
      (s) =>
        new RelayedSource(s, {
          peers: learn,
          warning: (e) => options.onWarning?.({ code: e.code, message: `${s.name}: ${e.message}` }),
        }),
    );
  // Peers that learnt of us (from the tracker we announce to) may dial before we dial them.
  const stopAccepting = node.acceptFor(check.infoHash, (t) => fetcher.addIncoming(t));
  fetcher.start();
  learn([
    ...(options.peers ?? []),
    ...magnet.peers.map(parsePeerAddress).filter((a): a is PeerAddress => a !== undefined),
  ]);
  const fail = async (code: string, message: string): Promise<never> => {
    await Promise.all(sources.map((s) => s.close()));
    throw Object.assign(new Error(message), { code });
  };
  const r = await fetcher.result;
  stopAccepting();
  if (!r.ok) return fail(r.error.code, `no metadata for the magnet link: ${r.error.message}`);
  const meta = await metainfoFromMagnet(magnet, r.value, nodeHasher, fetcher.pieceLayers);
  if (!meta.ok) return fail(meta.error.code, meta.error.message);
  // A seed that dialled us closes when the fetch ends; the session dials it back at once.
  return { meta: meta.value, sources, peers: [...fetcher.incomingPeers, ...found] };
}

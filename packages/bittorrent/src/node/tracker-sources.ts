import type { PeerSource } from '../discovery/peer-source.ts';
import { HttpTracker } from '../tracker-client/http-tracker.ts';
import { TrackerPeerSource, type TrackerSourceOptions } from '../tracker-client/tracker-source.ts';
import { nodeHttpGet } from './http-get.ts';
import { UdpTracker, type UdpTrackerOptions } from './udp-tracker.ts';

/**
 * One PeerSource per tracker URL of a torrent (every tier, announced in parallel, as most
 * clients do): http(s) through node:http (`nodeHttpGet`, not fetch: see there), udp through
 * BEP 15. Other schemes (wss) are left to the WebRTC transport.
 */
export function trackerSources(
  tiers: readonly (readonly string[])[],
  options: TrackerSourceOptions & { readonly udp?: UdpTrackerOptions },
): PeerSource[] {
  const urls = [...new Set(tiers.flat())];
  return urls.flatMap((url) => {
    if (/^https?:\/\//i.test(url)) return [new TrackerPeerSource(new HttpTracker(url, nodeHttpGet), options)];
    if (/^udp:\/\//i.test(url)) return [new TrackerPeerSource(new UdpTracker(url, options.udp), options)];
    return [];
  });
}

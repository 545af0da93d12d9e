/**
 * The page's ICE servers, from the node (`GET /p2p/ice`: its own STUN server by default,
 * plus TURN with credentials minted for this page), and the listener's choice of how to
 * meet peers. The node's answer is outside input: only stun:/turn: URLs and string
 * credentials are kept, a bounded number of them.
 */
import type { RtcIceServer } from '@swarmcast/bittorrent';

/** Where the node serves the ICE servers for a page, relative to the node's URLs. */
export const icePath = '/p2p/ice';

/**
 * share: WebRTC with every candidate (peers see this listener's address);
 * relay: TURN-relayed candidates only (iceTransportPolicy 'relay': peers see the relay);
 * off: no peers at all, the web seed only.
 */
export type PeerMode = 'share' | 'relay' | 'off';
export const peerModes: readonly PeerMode[] = ['share', 'relay', 'off'];

const MAX_SERVERS = 8;
const MAX_URLS = 8;

/** The `iceServers` of the node's JSON answer, cleaned; [] for anything unreadable. */
export function readIceServers(body: unknown): RtcIceServer[] {
  const list = (body as { iceServers?: unknown } | null)?.iceServers;
  if (!Array.isArray(list)) return [];
  const out: RtcIceServer[] = [];
  for (const item of list.slice(0, MAX_SERVERS)) {
    if (typeof item !== 'object' || item === null) continue;
    const o = item as Record<string, unknown>;
    const raw = typeof o.urls === 'string' ? [o.urls] : Array.isArray(o.urls) ? o.urls : [];
    const urls = raw
      .slice(0, MAX_URLS)
      .filter(
        (u): u is string => typeof u === 'string' && u.length <= 300 && /^(stuns?|turns?):[^\s]+$/.test(u),
      );
    const turn = urls.filter((u) => u.startsWith('turn'));
    const stun = urls.filter((u) => u.startsWith('stun'));
    const user = typeof o.username === 'string' && o.username.length <= 256 ? o.username : null;
    const pass = typeof o.credential === 'string' && o.credential.length <= 256 ? o.credential : null;
    // A TURN URL without credentials would make the RTCPeerConnection constructor throw.
    if (turn.length > 0 && user !== null && pass !== null)
      out.push({ urls: turn, username: user, credential: pass });
    if (stun.length > 0) out.push({ urls: stun });
  }
  return out;
}

/** True when some server relays (TURN): the one way to meet peers in relay mode. */
export function hasRelay(servers: readonly RtcIceServer[]): boolean {
  return servers.some((s) =>
    (typeof s.urls === 'string' ? [s.urls] : s.urls).some((u) => u.startsWith('turn')),
  );
}

/** Fetches the page's ICE servers; [] when the node does not answer (host candidates only). */
export async function fetchIceServers(
  url: string,
  onWarning?: (message: string) => void,
): Promise<RtcIceServer[]> {
  try {
    const res = await fetch(url, { cache: 'no-store', credentials: 'omit' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return readIceServers(await res.json());
  } catch (err) {
    onWarning?.(`ICE servers: ${(err as Error).message}`);
    return [];
  }
}

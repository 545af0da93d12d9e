import type { PeerAddress } from '../transport.ts';
import type { SwarmPeer } from './swarm-peer.ts';

/** The address back from a peer key made by `addressKey`. */
export function parseKey(key: string): PeerAddress | undefined {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(key);
  return m ? { host: m[1]!, port: Number(m[2]) } : undefined;
}

/** The address others can dial a connected peer at: the one we dialled, or its IP and `p`. */
export function dialableAddress(p: SwarmPeer): PeerAddress | undefined {
  if (p.link.remote.outgoing) return parseKey(p.key);
  return p.link.remote.address && p.link.listenPort
    ? { host: p.link.remote.address, port: p.link.listenPort }
    : undefined;
}

/** Addresses of handshaken peers others can dial, for PEX (BEP 11). */
export function pexAddresses(peers: Iterable<SwarmPeer>): PeerAddress[] {
  const out: PeerAddress[] = [];
  for (const p of peers) {
    const a = p.info ? dialableAddress(p) : undefined;
    if (a) out.push(a);
  }
  return out;
}

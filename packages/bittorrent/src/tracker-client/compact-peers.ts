import type { PeerAddress } from '../transport.ts';

/** BEP 23 compact IPv4 peers: 4 address bytes + 2 port bytes each (a ragged tail is ignored). */
export function decodeCompactPeers(bytes: Uint8Array): PeerAddress[] {
  const out: PeerAddress[] = [];
  for (let at = 0; at + 6 <= bytes.length; at += 6) {
    const port = (bytes[at + 4]! << 8) | bytes[at + 5]!;
    if (port === 0) continue;
    out.push({ host: `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`, port });
  }
  return out;
}

/** BEP 7 compact IPv6 peers: 16 address bytes + 2 port bytes each. */
export function decodeCompactPeers6(bytes: Uint8Array): PeerAddress[] {
  const out: PeerAddress[] = [];
  for (let at = 0; at + 18 <= bytes.length; at += 18) {
    const port = (bytes[at + 16]! << 8) | bytes[at + 17]!;
    if (port === 0) continue;
    const groups: string[] = [];
    for (let g = 0; g < 8; g++)
      groups.push(((bytes[at + 2 * g]! << 8) | bytes[at + 2 * g + 1]!).toString(16));
    out.push({ host: compressIpv6(groups), port });
  }
  return out;
}

/** RFC 5952 text: the longest run of two or more zero groups becomes "::". */
export function compressIpv6(groups: string[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** Encodes IPv4 peers compactly (for tests and our own tracker replies). */
export function encodeCompactPeers(peers: readonly PeerAddress[]): Uint8Array {
  const out = new Uint8Array(peers.length * 6);
  peers.forEach((p, i) => {
    p.host.split('.').forEach((o, k) => {
      out[i * 6 + k] = Number(o);
    });
    out[i * 6 + 4] = p.port >> 8;
    out[i * 6 + 5] = p.port & 255;
  });
  return out;
}

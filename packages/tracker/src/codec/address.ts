/**
 * Peer addresses in the compact forms of BEP 23 (4 address bytes + 2 port bytes) and BEP 7
 * (16 + 2). IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`, what a dual-stack socket reports)
 * are treated as IPv4 so that one client is one peer whatever socket it came in on.
 */

/** Strips the IPv4-mapped prefix a dual-stack socket reports. */
export function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.indexOf('.') > 0 ? ip.slice(7) : ip;
}

function parseIpv4(ip: string, out: Uint8Array, at: number): boolean {
  const parts = ip.split('.');
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (p.length === 0 || p.length > 3 || !/^\d+$/.test(p)) return false;
    const n = Number(p);
    if (n > 255) return false;
    out[at + i] = n;
  }
  return true;
}

function parseIpv6(ip: string, out: Uint8Array): boolean {
  const zone = ip.indexOf('%');
  if (zone >= 0) ip = ip.slice(0, zone);
  const halves = ip.split('::');
  if (halves.length > 2) return false;
  const words: number[] = [];
  const tail: number[] = [];
  const parse = (part: string, into: number[]): boolean => {
    if (part === '') return true;
    const groups = part.split(':');
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (g.includes('.') && i === groups.length - 1) {
        const v4 = new Uint8Array(4);
        if (!parseIpv4(g, v4, 0)) return false;
        into.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
        into.push(Number.parseInt(g, 16));
      }
    }
    return true;
  };
  if (!parse(halves[0]!, words)) return false;
  if (halves.length === 2 && !parse(halves[1]!, tail)) return false;
  const missing = 8 - words.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return false;
  const all = [...words, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  for (let i = 0; i < 8; i++) {
    out[i * 2] = all[i]! >> 8;
    out[i * 2 + 1] = all[i]! & 0xff;
  }
  return true;
}

/**
 * Parsed addresses, reused: every UDP packet needs its sender's bytes twice (connection id,
 * compact peer) and the same few addresses send most packets. Bounded: cleared when full.
 * Callers must not mutate what they get back.
 */
const parsed = new Map<string, Uint8Array | null>();
const maxParsed = 10_000;

/** The address bytes of an IP literal (4 or 16), or null. Do not mutate the result. */
export function ipBytes(ip: string): Uint8Array | null {
  let bytes = parsed.get(ip);
  if (bytes !== undefined) return bytes;
  bytes = parseIp(normalizeIp(ip));
  if (parsed.size >= maxParsed) parsed.clear();
  parsed.set(ip, bytes);
  return bytes;
}

function parseIp(ip: string): Uint8Array | null {
  if (ip.includes(':')) {
    const out = new Uint8Array(16);
    return parseIpv6(ip, out) ? out : null;
  }
  const out = new Uint8Array(4);
  return parseIpv4(ip, out, 0) ? out : null;
}

/** Address bytes followed by the big-endian port, or null for an invalid address or port. */
/**
 * Copies a compact peer (6 or 18 bytes) into `out` at `at`; returns the next offset.
 * A byte loop, not `out.set(peer, at)`: for a few bytes TypedArray#set costs a call into
 * the runtime each time, and an answer copies up to numwant (50) of them; the loop made
 * the UDP and HTTP answer encoders about 2 us faster per announce (profile, issue 17).
 */
export function copyCompact(out: Uint8Array, at: number, peer: Uint8Array): number {
  const n = peer.length;
  for (let k = 0; k < n; k++) out[at + k] = peer[k]!;
  return at + n;
}

export function compactPeer(ip: string, port: number): Uint8Array | null {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return null;
  const addr = ipBytes(ip);
  if (!addr) return null;
  const out = new Uint8Array(addr.length + 2);
  out.set(addr, 0);
  out[addr.length] = port >> 8;
  out[addr.length + 1] = port & 0xff;
  return out;
}

/** Back from compact form to (ip, port), for non-compact HTTP responses. */
export function uncompactPeer(compact: Uint8Array): { ip: string; port: number } {
  const n = compact.length - 2;
  const port = (compact[n]! << 8) | compact[n + 1]!;
  if (n === 4) return { ip: `${compact[0]}.${compact[1]}.${compact[2]}.${compact[3]}`, port };
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((compact[i]! << 8) | compact[i + 1]!).toString(16));
  return { ip: groups.join(':'), port };
}

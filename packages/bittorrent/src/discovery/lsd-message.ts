/**
 * BEP 14 Local Service Discovery announces: an SSDP-like "BT-SEARCH * HTTP/1.1" datagram sent
 * to a multicast group, naming our BitTorrent listen port and the torrents we are in:
 *
 *   BT-SEARCH * HTTP/1.1\r\n
 *   Host: 239.192.152.143:6771\r\n
 *   Port: <port>\r\n
 *   Infohash: <40 hex>\r\n        (one or more)
 *   cookie: <cookie>\r\n          (optional; recognises our own looped-back announces)
 *   \r\n\r\n
 *
 * Parsing is strict where it matters and forgiving where clients differ: header names are
 * case-insensitive, line ends may be bare \n, unknown headers are ignored; a datagram that is
 * not a BT-SEARCH, has no valid port or no valid info-hash is not an announce (null).
 */

/** The IPv4 group and port of BEP 14. */
export const LSD_GROUP_V4 = '239.192.152.143';
export const LSD_PORT = 6771;

/** Announces larger than this are not LSD (a datagram on a LAN; libtorrent sends < 200 bytes). */
const MAX_ANNOUNCE = 1400;

export interface LsdAnnounce {
  /** The announcer's BitTorrent listen port. */
  readonly port: number;
  /** Lower-case hex info-hashes (40 chars each). */
  readonly infoHashes: readonly string[];
  readonly cookie?: string;
}

/** Builds an announce for `host` ("239.192.152.143:6771" by default). */
export function encodeLsdAnnounce(a: LsdAnnounce, host = `${LSD_GROUP_V4}:${LSD_PORT}`): Uint8Array {
  if (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535) throw new RangeError(`bad port ${a.port}`);
  if (a.infoHashes.length === 0) throw new RangeError('an announce names at least one info-hash');
  const lines = ['BT-SEARCH * HTTP/1.1', `Host: ${host}`, `Port: ${a.port}`];
  for (const h of a.infoHashes) {
    if (!/^[0-9a-fA-F]{40}$/.test(h)) throw new RangeError(`bad info-hash ${h}`);
    lines.push(`Infohash: ${h.toLowerCase()}`);
  }
  if (a.cookie !== undefined) {
    if (!/^[\x21-\x7e]{1,64}$/.test(a.cookie))
      throw new RangeError('a cookie is 1..64 visible ASCII characters');
    lines.push(`cookie: ${a.cookie}`);
  }
  return new TextEncoder().encode(`${lines.join('\r\n')}\r\n\r\n\r\n`);
}

/** Reads an announce; null for anything else (hostile or foreign datagrams included). */
export function parseLsdAnnounce(bytes: Uint8Array): LsdAnnounce | null {
  if (bytes.length < 20 || bytes.length > MAX_ANNOUNCE) return null;
  // Latin-1 so that any byte maps to one char (no decoder exceptions, no replacement tricks).
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  const lines = text.split(/\r?\n/);
  if (lines[0]?.trim() !== 'BT-SEARCH * HTTP/1.1') return null;
  let port: number | undefined;
  let cookie: string | undefined;
  const infoHashes: string[] = [];
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return null;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'port') {
      if (port !== undefined || !/^\d{1,5}$/.test(value)) return null;
      port = Number(value);
    } else if (name === 'infohash') {
      if (!/^[0-9a-fA-F]{40}$/.test(value)) continue; // a v2-only or garbled hash: skip it alone
      const h = value.toLowerCase();
      if (!infoHashes.includes(h)) infoHashes.push(h);
    } else if (name === 'cookie') {
      cookie = value;
    }
  }
  if (port === undefined || port < 1 || port > 65535 || infoHashes.length === 0) return null;
  return cookie !== undefined ? { port, infoHashes, cookie } : { port, infoHashes };
}

/**
 * A query-string parser that keeps values as bytes. BitTorrent puts binary in the query
 * (info_hash and peer_id are 20 raw bytes, percent-encoded), which URLSearchParams would
 * mangle by decoding it as UTF-8. Malformed escapes make the whole value invalid (null)
 * rather than guessing.
 */

export type RawQuery = Map<string, Array<Uint8Array | null>>;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Percent-decodes `s` (`+` is a space, as in forms) into bytes; null when an escape is malformed. */
export function percentDecodeBytes(s: string): Uint8Array | null {
  const out = new Uint8Array(s.length);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 37) {
      const hi = hexValue(s.charCodeAt(i + 1));
      const lo = hexValue(s.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return null;
      out[n++] = (hi << 4) | lo;
      i += 2;
    } else if (c === 43) {
      out[n++] = 32;
    } else if (c < 128) {
      out[n++] = c;
    } else {
      // A raw non-ASCII character in a URL is not valid; refuse rather than pick an encoding.
      return null;
    }
  }
  // Not subarray: a view of a small on-heap array makes V8 move its bytes to an off-heap
  // ArrayBuffer, and the tracker keeps every peer id it stores (GC cost per stored peer).
  return n === out.length ? out : out.slice(0, n);
}

const textDecoder = new TextDecoder('utf-8', { fatal: false });

/** Parses `a=1&b=%20` (without the leading `?`), keeping at most `maxPairs` pairs. */
export function parseRawQuery(query: string, maxPairs = 128): RawQuery {
  const out: RawQuery = new Map();
  let start = 0;
  let pairs = 0;
  while (start <= query.length && pairs < maxPairs) {
    let end = query.indexOf('&', start);
    if (end < 0) end = query.length;
    if (end > start) {
      const eq = query.indexOf('=', start);
      const hasValue = eq >= 0 && eq < end;
      const key = query.slice(start, hasValue ? eq : end);
      const value = hasValue ? percentDecodeBytes(query.slice(eq + 1, end)) : new Uint8Array(0);
      const list = out.get(key);
      if (list) list.push(value);
      else out.set(key, [value]);
      pairs++;
    }
    start = end + 1;
  }
  return out;
}

/** The first value of `key` as text, or undefined when absent, null when malformed. */
export function queryText(query: RawQuery, key: string): string | null | undefined {
  const list = query.get(key);
  if (!list) return undefined;
  const v = list[0];
  return v ? textDecoder.decode(v) : null;
}

/** The first value of `key` as bytes, or undefined when absent, null when malformed. */
export function queryBytes(query: RawQuery, key: string): Uint8Array | null | undefined {
  const list = query.get(key);
  if (!list) return undefined;
  return list[0] ?? null;
}

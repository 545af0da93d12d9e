import { readFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { PlatformError } from '../errors.ts';

/**
 * Data-centre address ranges from an operator-provided list. Format (one range a line):
 *
 *   # comment lines and blank lines are ignored; so is anything after a '#'
 *   192.0.2.0/24
 *   198.51.100.7          (a bare address is a /32 or /128)
 *   2001:db8::/32
 *
 * A bad line is a PLT_ADDRESS_LIST_INVALID error naming the line. Lookups are a binary
 * search over merged ranges (IPv4 as numbers, IPv6 as bigints).
 */
export interface AddressClassifier {
  /** True when ip (IPv4, IPv6, or IPv4-mapped IPv6) is inside a listed range. */
  isDatacenter(ip: string): boolean;
  readonly rangeCount: number;
}

/** Parses an IPv6 address to a bigint, or null. */
export function ipv6ToBigInt(ip: string): bigint | null {
  if (!isIPv6(ip)) return null;
  let text = ip.split('%')[0]!;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = ipv4ToNumber(v4[1]!)!;
    text = `${text.slice(0, -v4[1]!.length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return null;
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(Number.parseInt(g || '0', 16));
  return v;
}

/**
 * A dotted-quad IPv4 address as a number, or null: exactly the strings node:net's isIPv4
 * accepts (four parts 0-255 in decimal, no leading zeros, nothing else). Read character by
 * character: it runs twice for every beacon (audience key, data-centre lookup), and
 * isIPv4's regex with a split and four Numbers cost ~0.3 us a call (the test compares the
 * two on hostile strings).
 */
export function ipv4ToNumber(ip: string): number | null {
  const n = ip.length;
  if (n < 7 || n > 15) return null;
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  let leadingZero = false;
  for (let i = 0; i < n; i++) {
    const c = ip.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || dots === 3) return null;
      value = value * 256 + part;
      dots++;
      part = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits === 0) leadingZero = c === 0x30;
      else if (leadingZero) return null;
      part = part * 10 + (c - 0x30);
      digits++;
      if (part > 255) return null;
    } else return null;
  }
  if (dots !== 3 || digits === 0) return null;
  return value * 256 + part;
}

/** IPv4-mapped IPv6 (::ffff:a.b.c.d, as Node reports IPv4 clients on dual-stack sockets). */
export function unmapIPv4(ip: string): string {
  // Most addresses do not start with ':' and cannot match: skip the regex for them.
  if (ip.charCodeAt(0) !== 0x3a) return ip;
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip;
}

type Range<T> = [T, T];

/** Sorts and merges overlapping or adjacent ranges (`next(x)` is x + 1 in T). */
function merge<T extends number | bigint>(ranges: Range<T>[], next: (x: T) => T): Range<T>[] {
  ranges.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Range<T>[] = [];
  for (const r of ranges) {
    const last = out.at(-1);
    if (last && r[0] <= next(last[1])) {
      if (r[1] > last[1]) last[1] = r[1];
    } else out.push([r[0], r[1]]);
  }
  return out;
}

function inside<T extends number | bigint>(ranges: Range<T>[], v: T): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = ranges[mid]!;
    if (v < r[0]) hi = mid - 1;
    else if (v > r[1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Builds a classifier from the text of a CIDR list (see the format above). */
export function parseAddressList(text: string, source = 'address list'): AddressClassifier {
  const v4: Range<number>[] = [];
  const v6: Range<bigint>[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const bad = (why: string) =>
      new PlatformError(
        'PLT_ADDRESS_LIST_INVALID',
        `${source} line ${i + 1} (${JSON.stringify(raw)}): ${why}`,
      );
    const [addr, lenText, extra] = line.split('/');
    if (extra !== undefined || /\s/.test(line)) throw bad('expected ADDRESS or ADDRESS/PREFIX');
    const n4 = ipv4ToNumber(addr!);
    if (n4 !== null) {
      const len = lenText === undefined ? 32 : Number(lenText);
      if (!/^\d+$/.test(lenText ?? '32') || len > 32) throw bad('IPv4 prefix must be 0..32');
      const size = 2 ** (32 - len);
      const start = n4 - (n4 % size);
      v4.push([start, start + size - 1]);
      return;
    }
    const n6 = ipv6ToBigInt(addr!);
    if (n6 !== null) {
      const len = lenText === undefined ? 128 : Number(lenText);
      if (!/^\d+$/.test(lenText ?? '128') || len > 128) throw bad('IPv6 prefix must be 0..128');
      const size = 1n << BigInt(128 - len);
      const start = n6 - (n6 % size);
      v6.push([start, start + size - 1n]);
      return;
    }
    throw bad('not an IPv4 or IPv6 address');
  });
  const r4 = merge(v4, (x) => x + 1);
  const r6 = merge(v6, (x) => x + 1n);
  return {
    rangeCount: r4.length + r6.length,
    isDatacenter(ip: string): boolean {
      const plain = unmapIPv4(ip);
      const n4 = ipv4ToNumber(plain);
      if (n4 !== null) return inside(r4, n4);
      const n6 = ipv6ToBigInt(plain);
      return n6 !== null && inside(r6, n6);
    },
  };
}

const shippedList = new URL('../../data/datacenter-ranges.txt', import.meta.url);

/**
 * Reads a CIDR list file; no path means the shipped list (data/datacenter-ranges.txt,
 * empty but for its comments: nothing is a data centre until the operator says so).
 */
export async function loadAddressList(path?: string | null): Promise<AddressClassifier> {
  const source = path ?? shippedList;
  return parseAddressList(await readFile(source, 'utf8'), String(path ?? 'data/datacenter-ranges.txt'));
}

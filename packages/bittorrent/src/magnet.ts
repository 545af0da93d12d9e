import { fromBase32, fromHex, toHex } from './bytes.ts';
import { fail, ok, type Result } from './errors.ts';
import { asInfoHashV1, asInfoHashV2, type InfoHashes } from './types.ts';

/** A magnet link (BEP 9, BEP 53 `so`, BEP 52 `btmh`). */
export interface Magnet {
  readonly infoHash: InfoHashes;
  /** dn: display name. */
  readonly name?: string;
  /** tr: trackers, in order. */
  readonly trackers: readonly string[];
  /** ws: web seeds (BEP 19). */
  readonly webSeeds: readonly string[];
  /** xl: exact length in bytes. */
  readonly length?: number;
  /** x.pe: peer addresses "host:port". */
  readonly peers: readonly string[];
  /** so: selected file indices (BEP 53), expanded from ranges. */
  readonly select?: readonly number[];
}

const MAX_LENGTH = 64 * 1024;
const MAX_SELECT = 100_000;

function parseSelect(value: string): number[] | null {
  const out: number[] = [];
  for (const part of value.split(',')) {
    const m = /^(\d{1,9})(?:-(\d{1,9}))?$/.exec(part);
    if (!m) return null;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from || out.length + (to - from + 1) > MAX_SELECT) return null;
    for (let i = from; i <= to; i++) out.push(i);
  }
  return out;
}

/**
 * Parses a magnet URI. Accepts btih as 40 hex digits or 32 base32 characters, btmh as a
 * sha2-256 multihash (`1220` + 64 hex digits); at least one of them is required.
 */
export function parseMagnet(uri: string): Result<Magnet> {
  if (uri.length > MAX_LENGTH) return fail('BT_MAGNET_MALFORMED', 'magnet link too long');
  if (!/^magnet:\?/i.test(uri)) return fail('BT_MAGNET_MALFORMED', 'not a magnet link');
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(uri.slice(uri.indexOf('?') + 1));
  } catch (cause) {
    return fail('BT_MAGNET_MALFORMED', 'unreadable query string', cause);
  }
  let v1: Uint8Array | undefined;
  let v2: Uint8Array | undefined;
  for (const xt of params.getAll('xt')) {
    const lower = xt.toLowerCase();
    if (lower.startsWith('urn:btih:')) {
      const value = xt.slice(9);
      const bytes = value.length === 40 ? fromHex(value) : value.length === 32 ? fromBase32(value) : null;
      if (bytes?.length !== 20) return fail('BT_MAGNET_BAD_HASH', `bad btih ${JSON.stringify(value)}`);
      v1 = bytes;
    } else if (lower.startsWith('urn:btmh:')) {
      const value = xt.slice(9);
      const bytes = fromHex(value);
      // multihash: 0x12 = sha2-256, 0x20 = 32 bytes
      if (bytes?.length !== 34 || bytes[0] !== 0x12 || bytes[1] !== 0x20) {
        return fail('BT_MAGNET_BAD_HASH', `bad btmh ${JSON.stringify(value)}`);
      }
      v2 = bytes.slice(2);
    }
  }
  if (!v1 && !v2) return fail('BT_MAGNET_NO_HASH', 'the magnet link has no urn:btih or urn:btmh');
  const xl = params.get('xl');
  const length = xl !== null && /^\d{1,16}$/.test(xl) ? Number(xl) : undefined;
  const so = params.get('so');
  const select = so !== null ? parseSelect(so) : undefined;
  if (select === null) return fail('BT_MAGNET_MALFORMED', `bad so ${JSON.stringify(so)}`);
  const name = params.get('dn');
  return ok({
    infoHash: { ...(v1 ? { v1: asInfoHashV1(v1) } : {}), ...(v2 ? { v2: asInfoHashV2(v2) } : {}) },
    ...(name !== null ? { name } : {}),
    trackers: params.getAll('tr').filter((t) => t !== ''),
    webSeeds: params.getAll('ws').filter((t) => t !== ''),
    ...(length !== undefined && Number.isSafeInteger(length) ? { length } : {}),
    peers: params.getAll('x.pe').filter((t) => t !== ''),
    ...(select !== undefined ? { select } : {}),
  });
}

function compactRanges(indices: readonly number[]): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j === i ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** Formats a magnet URI (btih in hex, btmh as a sha2-256 multihash). */
export function formatMagnet(m: Magnet): string {
  const parts: string[] = [];
  if (m.infoHash.v1) parts.push(`xt=urn:btih:${toHex(m.infoHash.v1)}`);
  if (m.infoHash.v2) parts.push(`xt=urn:btmh:1220${toHex(m.infoHash.v2)}`);
  if (m.name !== undefined) parts.push(`dn=${encodeURIComponent(m.name)}`);
  if (m.length !== undefined) parts.push(`xl=${m.length}`);
  for (const t of m.trackers) parts.push(`tr=${encodeURIComponent(t)}`);
  for (const w of m.webSeeds) parts.push(`ws=${encodeURIComponent(w)}`);
  for (const p of m.peers) parts.push(`x.pe=${encodeURIComponent(p)}`);
  if (m.select && m.select.length > 0) parts.push(`so=${compactRanges(m.select)}`);
  return `magnet:?${parts.join('&')}`;
}

/** The magnet link of a parsed torrent: its hashes, name, trackers (all tiers), web seeds and size. */
export function magnetOf(meta: {
  readonly infoHash: Magnet['infoHash'];
  readonly name: string;
  readonly announce: readonly (readonly string[])[];
  readonly urlList: readonly string[];
  readonly files: readonly { readonly length: number; readonly pad: boolean }[];
}): string {
  return formatMagnet({
    infoHash: meta.infoHash,
    name: meta.name,
    trackers: [...new Set(meta.announce.flat())],
    webSeeds: meta.urlList,
    length: meta.files.reduce((n, f) => n + (f.pad ? 0 : f.length), 0),
    peers: [],
  });
}

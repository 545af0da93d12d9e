import { type BDict, type BencodeLimits, decodeBencode, isBytes, isDict, isInt, isList } from '../bencode.ts';
import { toHex } from '../bytes.ts';
import { fail, ok, type Result } from '../errors.ts';
import type { PeerAddress } from '../transport.ts';
import { decodeCompactPeers, decodeCompactPeers6 } from './compact-peers.ts';
import type { AnnounceReply, ScrapeEntry } from './types.ts';

/** Tracker replies are small; anything bigger is refused. */
const replyLimits: BencodeLimits = { maxBytes: 4 * 1024 * 1024, maxDepth: 8, maxItems: 200_000 };
const MAX_PEERS = 10_000;
const text = new TextDecoder();

function textOf(v: unknown): string | undefined {
  return isBytes(v as never) ? text.decode(v as Uint8Array) : undefined;
}

function dictPeers(list: readonly unknown[]): PeerAddress[] {
  const out: PeerAddress[] = [];
  for (const entry of list) {
    if (!isDict(entry as never)) continue;
    const d = entry as BDict;
    const host = textOf(d.ip);
    const port = d.port;
    if (host && isInt(port) && port > 0 && port < 65536) out.push({ host, port });
  }
  return out;
}

/**
 * Parses an HTTP tracker's announce reply (BEP 3, compact BEP 23, peers6 BEP 7). A
 * `failure reason` is an error value (`BT_TRACKER_FAILURE`); malformed bytes are
 * `BT_TRACKER_BAD_REPLY`. Never throws.
 */
export function parseAnnounceReply(bytes: Uint8Array): Result<AnnounceReply> {
  const decoded = decodeBencode(bytes, replyLimits);
  if (!decoded.ok)
    return fail('BT_TRACKER_BAD_REPLY', `tracker reply is not bencode: ${decoded.error.message}`);
  const d = decoded.value.value;
  if (!isDict(d)) return fail('BT_TRACKER_BAD_REPLY', 'tracker reply is not a dictionary');
  const failure = textOf(d['failure reason']);
  if (failure !== undefined) return fail('BT_TRACKER_FAILURE', `tracker says: ${failure}`);
  const interval = d.interval;
  if (!isInt(interval) || interval < 0)
    return fail('BT_TRACKER_BAD_REPLY', 'tracker reply has no valid interval');
  const peers: PeerAddress[] = [];
  if (isBytes(d.peers)) peers.push(...decodeCompactPeers(d.peers));
  else if (isList(d.peers)) peers.push(...dictPeers(d.peers));
  if (isBytes(d.peers6)) peers.push(...decodeCompactPeers6(d.peers6));
  const minInterval = d['min interval'];
  const warning = textOf(d['warning message']);
  const trackerId = textOf(d['tracker id']);
  return ok({
    interval,
    ...(isInt(minInterval) && minInterval >= 0 ? { minInterval } : {}),
    ...(isInt(d.complete) && d.complete >= 0 ? { complete: d.complete } : {}),
    ...(isInt(d.incomplete) && d.incomplete >= 0 ? { incomplete: d.incomplete } : {}),
    peers: peers.slice(0, MAX_PEERS),
    ...(warning !== undefined ? { warning } : {}),
    ...(trackerId !== undefined ? { trackerId } : {}),
  });
}

/** Parses an HTTP scrape reply: `files` keyed by raw info-hash (returned by hex). */
export function parseScrapeReply(bytes: Uint8Array): Result<ReadonlyMap<string, ScrapeEntry>> {
  const decoded = decodeBencode(bytes, replyLimits);
  if (!decoded.ok)
    return fail('BT_TRACKER_BAD_REPLY', `scrape reply is not bencode: ${decoded.error.message}`);
  const d = decoded.value.value;
  if (!isDict(d)) return fail('BT_TRACKER_BAD_REPLY', 'scrape reply is not a dictionary');
  const failure = textOf(d['failure reason']);
  if (failure !== undefined) return fail('BT_TRACKER_FAILURE', `tracker says: ${failure}`);
  const files = d.files;
  if (!isDict(files)) return fail('BT_TRACKER_BAD_REPLY', 'scrape reply has no files dictionary');
  const out = new Map<string, ScrapeEntry>();
  for (const [key, value] of Object.entries(files)) {
    if (!isDict(value)) continue;
    // binary keys arrive as hex (see bencode-scan); a 20-byte key that happens to be UTF-8 as text
    const hex = /^[0-9a-f]{40}$/.test(key) ? key : toHex(new TextEncoder().encode(key));
    if (hex.length !== 40) continue;
    const n = (k: string) => (isInt(value[k]) && (value[k] as number) >= 0 ? (value[k] as number) : 0);
    out.set(hex, { complete: n('complete'), incomplete: n('incomplete'), downloaded: n('downloaded') });
  }
  return ok(out);
}

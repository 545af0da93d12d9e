/**
 * HTTP announce and scrape (BEP 3, compact peers BEP 23, IPv6 peers BEP 7, scrape BEP 48).
 * Decoding turns a query string into the shared request type; encoding turns a result into
 * the bencoded body. Nothing here knows about sockets or servers.
 */
import type { AnnounceEvent } from '@swarmcast/platform';
import bencode from 'bencode';
import { type TrackerError, trackerError } from '../errors.ts';
import type { AnnounceRequest, AnnounceResult, InfoHash, ScrapeRequest, ScrapeResult } from '../types.ts';
import { copyCompact, normalizeIp, uncompactPeer } from './address.ts';
import { type CodecLimits, capNumwant } from './limits.ts';
import { parseCount, toHex } from './numbers.ts';
import { parseRawQuery, queryBytes, queryText } from './query-string.ts';

/** What the transport knows about the request besides its query string. */
export interface HttpContext {
  ip: string;
  passkey: string | null;
  userAgent: string | null;
}

const events: Record<string, AnnounceEvent> = {
  started: 'started',
  completed: 'completed',
  stopped: 'stopped',
  '': 'update',
  empty: 'update',
  update: 'update',
  paused: 'update',
};

function count(text: string | null | undefined, fallback: number | null): number | null {
  if (text === undefined) return fallback;
  if (text === null) return null;
  return parseCount(text);
}

export function decodeHttpAnnounce(
  query: string,
  ctx: HttpContext,
  limits: CodecLimits,
): AnnounceRequest | TrackerError {
  const q = parseRawQuery(query);
  const infoHash = queryBytes(q, 'info_hash');
  if (infoHash?.length !== 20) return trackerError('TRK_BAD_INFO_HASH');
  const peerId = queryBytes(q, 'peer_id');
  if (peerId?.length !== 20) return trackerError('TRK_BAD_PEER_ID');
  const portText = queryText(q, 'port');
  const port = portText ? parseCount(portText) : null;
  if (port === null || port < 1 || port > 65535) return trackerError('TRK_BAD_PORT');
  const uploaded = count(queryText(q, 'uploaded'), 0);
  const downloaded = count(queryText(q, 'downloaded'), 0);
  const left = count(queryText(q, 'left'), null);
  if (uploaded === null || downloaded === null || left === null) return trackerError('TRK_BAD_NUMBER');
  const eventText = queryText(q, 'event') ?? '';
  const event = eventText === null ? undefined : events[eventText];
  if (!event) return trackerError('TRK_BAD_EVENT');
  const numwantText = queryText(q, 'numwant');
  const numwant = capNumwant(numwantText ? parseCount(numwantText) : null, limits);
  return {
    type: 'announce',
    transport: 'http',
    infoHash: toHex(infoHash) as InfoHash,
    peerId,
    ip: normalizeIp(ctx.ip),
    port,
    uploaded,
    downloaded,
    left,
    event,
    numwant,
    compact: queryText(q, 'compact') !== '0',
    noPeerId: queryText(q, 'no_peer_id') === '1',
    passkey: ctx.passkey,
    key: queryText(q, 'key') ?? null,
    userAgent: ctx.userAgent,
  };
}

export function decodeHttpScrape(
  query: string,
  ctx: HttpContext,
  limits: CodecLimits,
): ScrapeRequest | TrackerError {
  const q = parseRawQuery(query, limits.maxScrapeHashes + 8);
  const values = q.get('info_hash') ?? [];
  if (values.length > limits.maxScrapeHashes) return trackerError('TRK_TOO_MANY_HASHES');
  const infoHashes: InfoHash[] = [];
  for (const v of values) {
    if (v?.length !== 20) return trackerError('TRK_BAD_INFO_HASH');
    infoHashes.push(toHex(v) as InfoHash);
  }
  return { type: 'scrape', transport: 'http', infoHashes, ip: normalizeIp(ctx.ip), passkey: ctx.passkey };
}

/**
 * The compact answer, laid out by hand: it is the hot path (every announce of every real
 * client) and the generic encoder's intermediate arrays cost more than the rest of the
 * announce. Keys in bencode order; the tests decode it with the bencode package.
 */
function encodeCompactAnnounce(result: AnnounceResult): Uint8Array {
  const packed = result.packed;
  let v4 = 0;
  let v6 = 0;
  if (packed) {
    v4 = packed.v4.length / 6;
    v6 = packed.v6.length / 18;
  } else {
    for (const p of result.peers) {
      if (p.compact.length === 6) v4++;
      else if (p.compact.length === 18) v6++;
    }
  }
  const head =
    `d8:completei${result.complete}e10:downloadedi${result.downloaded}e10:incompletei${result.incomplete}e` +
    `8:intervali${result.interval}e12:min intervali${result.minInterval}e5:peers${v4 * 6}:`;
  const mid = v6 > 0 ? `6:peers6${v6 * 18}:` : '';
  const headLen = head.length;
  const out = Buffer.allocUnsafe(headLen + v4 * 6 + mid.length + v6 * 18 + 1);
  out.write(head, 0, 'latin1');
  let a = headLen;
  let b = headLen + v4 * 6;
  if (v6 > 0) out.write(mid, b, 'latin1');
  b += mid.length;
  if (packed) {
    out.set(packed.v4, a);
    out.set(packed.v6, b);
  }
  for (const p of result.peers) {
    if (p.compact.length === 6) {
      a = copyCompact(out, a, p.compact);
    } else if (p.compact.length === 18) {
      b = copyCompact(out, b, p.compact);
    }
  }
  out[out.length - 1] = 0x65;
  return out;
}

export function encodeHttpAnnounce(result: AnnounceResult, request: AnnounceRequest): Uint8Array {
  if (request.compact) return encodeCompactAnnounce(result);
  const body: Record<string, unknown> = {
    complete: result.complete,
    incomplete: result.incomplete,
    downloaded: result.downloaded,
    interval: result.interval,
    'min interval': result.minInterval,
  };
  body.peers = result.peers
    .filter((p) => p.compact.length > 0)
    .map((p) => {
      const { ip, port } = uncompactPeer(p.compact);
      return request.noPeerId ? { ip, port } : { ip, port, 'peer id': Buffer.from(p.peerId) };
    });
  return bencode.encode(body);
}

export function encodeHttpScrape(result: ScrapeResult): Uint8Array {
  // Dictionary keys must be in byte order; hex order is byte order, and the bencode package
  // would sort binary keys as UTF-8 text, so the outer dictionary is laid out here.
  const parts: Uint8Array[] = [Buffer.from('d5:filesd')];
  for (const hash of [...result.files.keys()].sort()) {
    const c = result.files.get(hash)!;
    parts.push(Buffer.from('20:'), Buffer.from(hash, 'hex'));
    parts.push(bencode.encode({ complete: c.complete, downloaded: c.downloaded, incomplete: c.incomplete }));
  }
  parts.push(Buffer.from('ee'));
  return Buffer.concat(parts);
}

export function encodeHttpFailure(error: TrackerError, retryInMinutes?: number): Uint8Array {
  const body: Record<string, unknown> = { 'failure reason': error.message };
  if (retryInMinutes !== undefined) body['retry in'] = retryInMinutes;
  return bencode.encode(body);
}

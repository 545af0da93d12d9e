/**
 * WebTorrent's WebSocket tracker protocol (as spoken by the bittorrent-tracker client):
 * JSON text frames whose info_hash and peer_id are 20-character "binary strings" (one
 * char per byte). An announce may carry WebRTC offers, which the tracker relays to other
 * browser peers of the swarm; a peer answers with `answer`, `offer_id` and `to_peer_id`,
 * which the tracker relays back. Answers are relays only: they do not count as announces.
 */
import type { AnnounceEvent } from '@swarmcast/platform';
import { type TrackerError, trackerError } from '../errors.ts';
import type { AnnounceRequest, InfoHash, ScrapeRequest, ScrapeResult, SwarmCounts } from '../types.ts';
import { type CodecLimits, capNumwant } from './limits.ts';
import { toHex } from './numbers.ts';

export interface WsOffer {
  offer: unknown;
  offerId: string;
}

export type WsMessage =
  | { kind: 'announce'; request: AnnounceRequest; offers: WsOffer[] }
  | { kind: 'answer'; infoHash: InfoHash; peerId: string; toPeerId: string; answer: unknown; offerId: string }
  | { kind: 'scrape'; request: ScrapeRequest };

/** Bytes of a binary string; null unless every char is a byte and the length is `size`. */
function binaryString(value: unknown, size: number): Uint8Array | null {
  if (typeof value !== 'string' || value.length !== size) return null;
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 255) return null;
  return Buffer.from(value, 'latin1');
}

function counter(value: unknown, fallback: number): number | null {
  if (value === undefined || value === null) return fallback;
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return null;
  return Math.min(Math.floor(n), Number.MAX_SAFE_INTEGER);
}

const wsEvents: Record<string, AnnounceEvent> = {
  started: 'started',
  completed: 'completed',
  stopped: 'stopped',
  update: 'update',
  paused: 'update',
};

/** Text of a peer id or info-hash as the wire carries it. */
export function binaryText(hex: string): string {
  return Buffer.from(hex, 'hex').toString('latin1');
}

export interface WsContext {
  ip: string;
  port: number;
  userAgent: string | null;
}

/** Parses one text frame. Frames over `maxBytes` are refused before JSON.parse. */
export function decodeWsMessage(
  text: string,
  ctx: WsContext,
  limits: CodecLimits,
  maxBytes = 64 * 1024,
): WsMessage | TrackerError {
  if (text.length > maxBytes) return trackerError('TRK_BAD_REQUEST');
  let msg: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return trackerError('TRK_BAD_REQUEST');
    }
    msg = parsed as Record<string, unknown>;
  } catch {
    return trackerError('TRK_BAD_REQUEST');
  }
  if (msg.action === 'scrape') {
    const raw =
      msg.info_hash === undefined ? [] : Array.isArray(msg.info_hash) ? msg.info_hash : [msg.info_hash];
    if (raw.length > limits.maxScrapeHashes) return trackerError('TRK_TOO_MANY_HASHES');
    const infoHashes: InfoHash[] = [];
    for (const h of raw) {
      const bytes = binaryString(h, 20);
      if (!bytes) return trackerError('TRK_BAD_INFO_HASH');
      infoHashes.push(toHex(bytes) as InfoHash);
    }
    return {
      kind: 'scrape',
      request: { type: 'scrape', transport: 'ws', infoHashes, ip: ctx.ip, passkey: null },
    };
  }
  if (msg.action !== 'announce') return trackerError('TRK_UNKNOWN_ACTION');
  const infoHash = binaryString(msg.info_hash, 20);
  if (!infoHash) return trackerError('TRK_BAD_INFO_HASH');
  const peerId = binaryString(msg.peer_id, 20);
  if (!peerId) return trackerError('TRK_BAD_PEER_ID');
  if (msg.answer !== undefined) {
    const to = binaryString(msg.to_peer_id, 20);
    if (!to || typeof msg.offer_id !== 'string' || msg.offer_id.length > 64)
      return trackerError('TRK_BAD_REQUEST');
    return {
      kind: 'answer',
      infoHash: toHex(infoHash) as InfoHash,
      peerId: toHex(peerId),
      toPeerId: toHex(to),
      answer: msg.answer,
      offerId: msg.offer_id,
    };
  }
  const uploaded = counter(msg.uploaded, 0);
  const downloaded = counter(msg.downloaded, 0);
  // WebTorrent sends left as a number or omits it when the size is unknown yet (a magnet).
  const left = counter(msg.left, Number.MAX_SAFE_INTEGER);
  if (uploaded === null || downloaded === null || left === null) return trackerError('TRK_BAD_NUMBER');
  const event = msg.event === undefined || msg.event === '' ? 'update' : wsEvents[String(msg.event)];
  if (!event) return trackerError('TRK_BAD_EVENT');
  const offers: WsOffer[] = [];
  if (Array.isArray(msg.offers)) {
    for (const o of msg.offers.slice(0, limits.maxNumwant)) {
      if (typeof o !== 'object' || o === null) continue;
      const { offer, offer_id } = o as { offer?: unknown; offer_id?: unknown };
      if (typeof offer_id !== 'string' || offer_id.length > 64 || offer === undefined) continue;
      offers.push({ offer, offerId: offer_id });
    }
  }
  const request: AnnounceRequest = {
    type: 'announce',
    transport: 'ws',
    infoHash: toHex(infoHash) as InfoHash,
    peerId,
    ip: ctx.ip,
    port: ctx.port,
    uploaded,
    downloaded,
    left,
    event,
    // A browser can only reach peers it sent an offer for.
    numwant: capNumwant(offers.length, limits),
    compact: false,
    noPeerId: false,
    passkey: null,
    key: null,
    userAgent: ctx.userAgent,
  };
  return { kind: 'announce', request, offers };
}

export function encodeWsAnnounceReply(infoHash: InfoHash, counts: SwarmCounts, interval: number): string {
  return JSON.stringify({
    action: 'announce',
    interval,
    info_hash: binaryText(infoHash),
    complete: counts.complete,
    incomplete: counts.incomplete,
  });
}

export function encodeWsOffer(infoHash: InfoHash, fromPeerIdHex: string, offer: WsOffer): string {
  return JSON.stringify({
    action: 'announce',
    offer: offer.offer,
    offer_id: offer.offerId,
    peer_id: binaryText(fromPeerIdHex),
    info_hash: binaryText(infoHash),
  });
}

export function encodeWsAnswer(
  infoHash: InfoHash,
  fromPeerIdHex: string,
  answer: unknown,
  offerId: string,
): string {
  return JSON.stringify({
    action: 'announce',
    answer,
    offer_id: offerId,
    peer_id: binaryText(fromPeerIdHex),
    info_hash: binaryText(infoHash),
  });
}

export function encodeWsScrape(result: ScrapeResult): string {
  const files: Record<string, SwarmCounts> = {};
  for (const [hash, c] of result.files) {
    files[binaryText(hash)] = { complete: c.complete, incomplete: c.incomplete, downloaded: c.downloaded };
  }
  return JSON.stringify({ action: 'scrape', files });
}

export function encodeWsFailure(error: TrackerError, infoHash?: InfoHash): string {
  const body: Record<string, unknown> = { 'failure reason': error.message };
  if (infoHash) {
    body.action = 'announce';
    body.info_hash = binaryText(infoHash);
  }
  return JSON.stringify(body);
}

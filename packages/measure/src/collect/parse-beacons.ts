import { macroValue, type TrackingEvent, trackingEvents } from '@swarmcast/ads';
import {
  type BeaconPeerMode,
  type PlayBeacon,
  type PlayEvent,
  peerModes,
  playEvents,
} from '../beacon-types.ts';

/**
 * Parsers of outside bytes: the ad beacon query (VAST tracking URL, see the ads part's
 * tracking-contract.ts) and the play beacon body. Both are total: any input gives a value
 * or a coded reason, never an exception; every field is bounded.
 */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface AdBeaconQuery {
  event: TrackingEvent;
  token: string;
  ts: string | null;
  adPlayheadMs: number | null;
  offsetMs: number | null;
  errorCode: number | null;
  /** The filled [CACHEBUSTING]; null when absent, unreplaced, `-1` or `-2` (the player had none). */
  cacheBuster: string | null;
}

const maxToken = 4096;
const maxShort = 64;
const eventSet = new Set<string>(trackingEvents);

/** A query value as one bounded string (repeated parameters are refused, not guessed). */
function one(q: Record<string, unknown>, name: string, max: number): string | null | undefined {
  const v = q[name];
  if (v === undefined || v === '') return null;
  if (typeof v !== 'string' || v.length > max) return undefined;
  return v;
}

/** Milliseconds from a VAST timecode `HH:MM:SS(.mmm)` or plain integer milliseconds. */
export function parseMs(v: string | null): number | null {
  if (v === null) return null;
  if (/^\d{1,12}$/.test(v)) return Number(v);
  const m = /^(\d{1,3}):([0-5]\d):([0-5]\d)(?:\.(\d{1,3}))?$/.exec(v);
  if (!m) return null;
  return (
    ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number((m[4] ?? '0').padEnd(3, '0'))
  );
}

export function parseAdBeacon(event: string, query: unknown): ParseResult<AdBeaconQuery> {
  if (!eventSet.has(event)) return { ok: false, reason: 'unknown-event' };
  if (typeof query !== 'object' || query === null) return { ok: false, reason: 'malformed' };
  const q = query as Record<string, unknown>;
  const token = one(q, 't', maxToken);
  if (!token) return { ok: false, reason: token === undefined ? 'oversized' : 'no-token' };
  const ts = one(q, 'ts', maxShort);
  const ah = one(q, 'ah', maxShort);
  const o = one(q, 'o', maxShort);
  const code = one(q, 'code', maxShort);
  const cb = one(q, 'cb', maxShort);
  if ([ts, ah, o, code, cb].includes(undefined)) return { ok: false, reason: 'malformed' };
  const errorCode = code && /^\d{1,6}$/.test(code) ? Number(code) : null;
  const buster = macroValue(cb ?? undefined);
  return {
    ok: true,
    value: {
      event: event as TrackingEvent,
      token,
      ts: ts ?? null,
      adPlayheadMs: parseMs(ah ?? null),
      offsetMs: parseMs(o ?? null),
      errorCode,
      cacheBuster: buster.kind === 'value' ? buster.value : null,
    },
  };
}

const idPattern = /^[A-Za-z0-9_.:-]{1,128}$/;
const playEventSet = new Set<string>(playEvents);
const maxMs = 7 * 86_400_000;
const maxBytes = 1e13;

/** Validates a play beacon body (already JSON-parsed). Unknown fields are ignored. */
export function parsePlayBeacon(body: unknown): ParseResult<PlayBeacon> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return { ok: false, reason: 'malformed' };
  const b = body as Record<string, unknown>;
  if (b.v !== 1) return { ok: false, reason: 'version' };
  const str = (k: string) => typeof b[k] === 'string' && idPattern.test(b[k] as string);
  const int = (k: string, max: number) =>
    Number.isSafeInteger(b[k]) && (b[k] as number) >= 0 && (b[k] as number) <= max;
  if (!str('sessionId') || !str('episodeId')) return { ok: false, reason: 'malformed' };
  if (b.listenerId !== null && b.listenerId !== undefined && !str('listenerId'))
    return { ok: false, reason: 'malformed' };
  if (typeof b.event !== 'string' || !playEventSet.has(b.event)) return { ok: false, reason: 'malformed' };
  if (
    !int('seq', 1_000_000) ||
    !int('positionMs', maxMs) ||
    !int('durationMs', maxMs) ||
    !int('listenedMs', maxMs)
  ) {
    return { ok: false, reason: 'malformed' };
  }
  if (!int('bytesFromPeers', maxBytes) || !int('bytesFromWebSeed', maxBytes))
    return { ok: false, reason: 'malformed' };
  // Optional (older players omit it); anything else than a known mode is malformed.
  if (b.peerMode !== undefined && !(peerModes as readonly unknown[]).includes(b.peerMode))
    return { ok: false, reason: 'malformed' };
  return {
    ok: true,
    value: {
      v: 1,
      sessionId: b.sessionId as string,
      seq: b.seq as number,
      listenerId: (b.listenerId as string | null | undefined) ?? null,
      episodeId: b.episodeId as string,
      event: b.event as PlayEvent,
      positionMs: b.positionMs as number,
      durationMs: b.durationMs as number,
      listenedMs: b.listenedMs as number,
      bytesFromPeers: b.bytesFromPeers as number,
      bytesFromWebSeed: b.bytesFromWebSeed as number,
      ...(b.peerMode !== undefined ? { peerMode: b.peerMode as BeaconPeerMode } : {}),
    },
  };
}

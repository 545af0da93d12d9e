/**
 * Content play beacons for the collector (`POST /beacon/play`, schema in
 * `PlayBeacon` v1 below), as a pure state machine.
 *
 * Rules:
 * 1. `start` at the first content `playing`, once per session.
 * 2. `progress` every `intervalMs` (default 10 s) of wall time while content plays.
 * 3. `complete` when the content ends, once; `stop` when the listener leaves after start
 *    and before complete.
 * 4. `seq` goes up by one per beacon; `listenedMs` counts media time actually played
 *    (forward playback steps of at most `maxStepMs`, so a seek is not listening);
 *    byte counters are cumulative for the session.
 * 5. Nothing is sent before `start` or after `complete`/`stop`.
 * Integers only (the collector accepts safe non-negative integers).
 */

export const playEvents = ['start', 'progress', 'complete', 'stop'] as const;
export type PlayEvent = (typeof playEvents)[number];

/**
 * How the page could meet peers: the listener's choice (share, relay, off), or `none` when
 * this browser plays without the peer-to-peer engine (no Service Worker or WebRTC). A
 * session with share or relay and no byte from peers is a listener who fell back to the web seed.
 */
export const peerModes = ['share', 'relay', 'off', 'none'] as const;
export type BeaconPeerMode = (typeof peerModes)[number];

/**
 * A content-play beacon (`POST /beacon/play`, JSON, at most 4 KiB): the contract between the
 * player, which sends it, and measure's collector, which parses it (measure imports this
 * type; the player, a lower layer, cannot import measure).
 * `start` when playback begins, `progress` every N seconds (10 s suggested) while it plays,
 * `complete` at the end of the media, `stop` when the listener leaves. Byte counters and
 * `listenedMs` are cumulative for the session; `seq` increases by one per beacon.
 */
export interface PlayBeacon {
  v: 1;
  /** Random per playback session (a UUID); with `seq` it makes the event id. */
  sessionId: string;
  seq: number;
  /** The player's random rotating listener id, or null when withheld (DNT / GPC). */
  listenerId: string | null;
  episodeId: string;
  event: PlayEvent;
  /** Playhead in the episode, ms. */
  positionMs: number;
  /** Episode duration as the player knows it, ms. */
  durationMs: number;
  /** Media time actually played in this session so far, ms. */
  listenedMs: number;
  /** Bytes of this episode received from peers (BitTorrent/WebRTC) in this session. */
  bytesFromPeers: number;
  /** Bytes received from the HTTP web seed / origin in this session. */
  bytesFromWebSeed: number;
  /** How the page could meet peers (absent from older players). */
  peerMode?: BeaconPeerMode;
}

export interface PlaySession {
  sessionId: string;
  listenerId: string | null;
  episodeId: string;
  intervalMs: number;
  state: 'idle' | 'playing' | 'paused' | 'done';
  seq: number;
  positionMs: number;
  durationMs: number;
  listenedMs: number;
  lastBeaconAtMs: number;
  bytesFromPeers: number;
  bytesFromWebSeed: number;
  peerMode?: BeaconPeerMode;
}

export type PlaySignal =
  | { type: 'playing'; nowMs: number }
  | { type: 'pause' }
  | { type: 'timeupdate'; nowMs: number; positionMs: number; durationMs: number }
  | { type: 'bytes'; fromPeers: number; fromWebSeed: number; peerMode?: BeaconPeerMode }
  | { type: 'ended'; nowMs: number }
  | { type: 'leave' };

/** Longest media step counted as listening between two timeupdates (larger = a seek). */
export const maxStepMs = 2_000;

export function newPlaySession(
  sessionId: string,
  episodeId: string,
  listenerId: string | null,
  intervalMs = 10_000,
): PlaySession {
  return {
    sessionId,
    listenerId,
    episodeId,
    intervalMs,
    state: 'idle',
    seq: 0,
    positionMs: 0,
    durationMs: 0,
    listenedMs: 0,
    lastBeaconAtMs: 0,
    bytesFromPeers: 0,
    bytesFromWebSeed: 0,
  };
}

function beacon(s: PlaySession, event: PlayEvent): PlayBeacon {
  const i = (n: number) => Math.max(0, Math.floor(Number.isFinite(n) ? n : 0));
  return {
    v: 1,
    sessionId: s.sessionId,
    seq: s.seq,
    listenerId: s.listenerId,
    episodeId: s.episodeId,
    event,
    positionMs: i(s.positionMs),
    durationMs: i(s.durationMs),
    listenedMs: i(s.listenedMs),
    bytesFromPeers: i(s.bytesFromPeers),
    bytesFromWebSeed: i(s.bytesFromWebSeed),
    ...(s.peerMode ? { peerMode: s.peerMode } : {}),
  };
}

/** Applies a signal; returns the new session and the beacon to send, if any. */
export function playStep(
  prev: PlaySession,
  sig: PlaySignal,
): { session: PlaySession; beacon: PlayBeacon | null } {
  if (prev.state === 'done') return { session: prev, beacon: null };
  const s = { ...prev };
  const emit = (event: PlayEvent, nowMs: number | null) => {
    const b = beacon(s, event);
    s.seq += 1;
    if (nowMs !== null) s.lastBeaconAtMs = nowMs;
    return b;
  };
  switch (sig.type) {
    case 'playing':
      if (s.state === 'idle') {
        s.state = 'playing';
        return { session: s, beacon: emit('start', sig.nowMs) };
      }
      s.state = 'playing';
      return { session: s, beacon: null };
    case 'pause':
      if (s.state === 'playing') s.state = 'paused';
      return { session: s, beacon: null };
    case 'timeupdate': {
      const step = sig.positionMs - s.positionMs;
      if (s.state === 'playing' && step > 0 && step <= maxStepMs) s.listenedMs += step;
      s.positionMs = sig.positionMs;
      if (Number.isFinite(sig.durationMs) && sig.durationMs > 0) s.durationMs = sig.durationMs;
      if (s.state === 'playing' && sig.nowMs - s.lastBeaconAtMs >= s.intervalMs) {
        return { session: s, beacon: emit('progress', sig.nowMs) };
      }
      return { session: s, beacon: null };
    }
    case 'bytes':
      s.bytesFromPeers = Math.max(s.bytesFromPeers, sig.fromPeers);
      s.bytesFromWebSeed = Math.max(s.bytesFromWebSeed, sig.fromWebSeed);
      if (sig.peerMode) s.peerMode = sig.peerMode;
      return { session: s, beacon: null };
    case 'ended':
      if (s.state === 'idle') return { session: s, beacon: null };
      if (s.durationMs > 0) s.positionMs = s.durationMs;
      s.state = 'done';
      return { session: s, beacon: emit('complete', sig.nowMs) };
    case 'leave':
      if (s.state === 'idle') {
        s.state = 'done';
        return { session: s, beacon: null };
      }
      s.state = 'done';
      return { session: s, beacon: emit('stop', null) };
  }
}

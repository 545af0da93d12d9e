/**
 * VAST 4.3 linear tracking as a pure state machine over media-element signals.
 *
 * Rules (VAST 4.3 section 2.3.4 "Tracking Details", 3.14.1 "Tracking Events"):
 * 1. Impression when the ad really begins to render: video at the first decoded frame
 *    (`first-frame`, from requestVideoFrameCallback or the first `playing` + currentTime > 0);
 *    audio when it is playing, not muted and volume > 0 (so a muted autoplay is no
 *    impression until it becomes audible). All impression URLs fire together, once.
 * 2. `start` once, when playback of the creative begins (video: with the first frame;
 *    audio: first `playing`). `loaded` once at `loadedmetadata`.
 * 3. Quartiles, then `complete`, in order and once each, only after `start`; a timeupdate
 *    that jumps fires every quartile it passed. `ended` counts as reaching the duration.
 * 4. `pause` / `resume` on transitions after `start` and before the end; `mute` / `unmute`
 *    on transitions of audibility (muted or volume 0 is silent).
 * 5. `progress` offsets once each when the ad playhead reaches them.
 * 6. `skip` only when the ad is skippable (skipoffset) and its playhead passed the offset;
 *    otherwise the skip request is ignored (the UI hides the button by `canSkip`).
 * 7. `error` fires the error URLs with a VAST error code and ends the ad; so do `complete`,
 *    `skip` and `closeLinear`. Nothing fires after the end.
 */
import type { VastErrorCode } from './vast-errors.ts';

export const linearEvents = [
  'loaded',
  'start',
  'firstQuartile',
  'midpoint',
  'thirdQuartile',
  'complete',
  'pause',
  'resume',
  'mute',
  'unmute',
  'skip',
  'closeLinear',
] as const;
export type LinearEvent = (typeof linearEvents)[number];
export type BeaconEvent = LinearEvent | 'impression' | 'progress' | 'error';

/** The tracking URLs of one linear creative (templates, macros still in). */
export interface AdTrackers {
  impression: readonly string[];
  error: readonly string[];
  events: Partial<Record<LinearEvent, readonly string[]>>;
  progress: readonly { offsetMs: number; urls: readonly string[] }[];
}

/** What the tracker needs to know about an ad. */
export interface AdView {
  kind: 'audio' | 'video';
  durationMs: number;
  /** null when the ad cannot be skipped. */
  skipOffsetMs: number | null;
  trackers: AdTrackers;
}

export type MediaSignal =
  | { type: 'loadedmetadata' }
  | { type: 'first-frame' }
  | { type: 'playing' }
  | { type: 'pause' }
  | { type: 'timeupdate'; ms: number }
  | { type: 'volume'; muted: boolean; volume: number }
  | { type: 'ended' }
  | { type: 'skip' }
  | { type: 'close' }
  | { type: 'error'; code: VastErrorCode };

export interface TrackingState {
  ended: boolean;
  impressed: boolean;
  started: boolean;
  /** The element is playing (between `playing` and `pause`). */
  playing: boolean;
  paused: boolean;
  frameSeen: boolean;
  audible: boolean;
  playheadMs: number;
  /** Keys of once-only beacons already fired (`loaded`, quartiles, `progress:<ms>`...). */
  fired: ReadonlySet<string>;
}

/** A beacon to send: every URL of it, with the ad playhead it happened at. */
export interface Beacon {
  event: BeaconEvent;
  urls: readonly string[];
  adPlayheadMs: number;
  errorCode: VastErrorCode | null;
}

export function initialTracking(muted: boolean, volume: number): TrackingState {
  return {
    ended: false,
    impressed: false,
    started: false,
    playing: false,
    paused: false,
    frameSeen: false,
    audible: !muted && volume > 0,
    playheadMs: 0,
    fired: new Set(),
  };
}

/** Whether a skip request would be honoured now. */
export function canSkip(view: AdView, s: TrackingState): boolean {
  return !s.ended && s.started && view.skipOffsetMs !== null && s.playheadMs >= view.skipOffsetMs;
}

const quartiles = [
  ['firstQuartile', 0.25],
  ['midpoint', 0.5],
  ['thirdQuartile', 0.75],
] as const;

/** Applies one media signal; returns the new state and the beacons to fire, in order. */
export function track(
  view: AdView,
  prev: TrackingState,
  signal: MediaSignal,
): { state: TrackingState; beacons: Beacon[] } {
  if (prev.ended) return { state: prev, beacons: [] };
  const s = { ...prev, fired: new Set(prev.fired) };
  const out: Beacon[] = [];
  const emit = (
    event: BeaconEvent,
    urls: readonly string[] | undefined,
    errorCode: VastErrorCode | null = null,
  ) => {
    out.push({ event, urls: urls ?? [], adPlayheadMs: s.playheadMs, errorCode });
  };
  const once = (event: LinearEvent) => {
    if (s.fired.has(event)) return;
    s.fired.add(event);
    emit(event, view.trackers.events[event]);
  };
  const maybeImpress = () => {
    if (s.impressed) return;
    const renders = view.kind === 'video' ? s.frameSeen : s.playing && s.audible;
    if (!renders) return;
    s.impressed = true;
    emit('impression', view.trackers.impression);
  };
  const maybeStart = () => {
    if (s.started) return;
    if (view.kind === 'video' ? !s.frameSeen : !s.playing) return;
    s.started = true;
    once('start');
  };
  const advanceTo = (ms: number) => {
    if (ms > s.playheadMs) s.playheadMs = Math.min(ms, view.durationMs > 0 ? view.durationMs : ms);
    if (!s.started) return;
    if (view.durationMs > 0) {
      for (const [event, share] of quartiles) if (s.playheadMs >= share * view.durationMs) once(event);
    }
    for (const p of view.trackers.progress) {
      const key = `progress:${p.offsetMs}`;
      if (s.playheadMs >= p.offsetMs && !s.fired.has(key)) {
        s.fired.add(key);
        emit('progress', p.urls);
      }
    }
  };

  switch (signal.type) {
    case 'loadedmetadata':
      once('loaded');
      break;
    case 'first-frame':
      s.frameSeen = true;
      s.playing = true;
      maybeImpress();
      maybeStart();
      break;
    case 'playing':
      s.playing = true;
      if (s.paused) {
        s.paused = false;
        emit('resume', view.trackers.events.resume);
      }
      maybeImpress();
      maybeStart();
      break;
    case 'pause':
      s.playing = false;
      if (s.started && !s.paused) {
        s.paused = true;
        emit('pause', view.trackers.events.pause);
      }
      break;
    case 'timeupdate':
      advanceTo(signal.ms);
      break;
    case 'volume': {
      const audible = !signal.muted && signal.volume > 0;
      if (audible !== s.audible) {
        s.audible = audible;
        if (s.started) emit(audible ? 'unmute' : 'mute', view.trackers.events[audible ? 'unmute' : 'mute']);
      }
      maybeImpress();
      break;
    }
    case 'ended':
      if (!s.started) break;
      advanceTo(view.durationMs > 0 ? view.durationMs : s.playheadMs);
      once('complete');
      s.ended = true;
      break;
    case 'skip':
      if (!canSkip(view, s)) break;
      once('skip');
      s.ended = true;
      break;
    case 'close':
      once('closeLinear');
      s.ended = true;
      break;
    case 'error':
      emit('error', view.trackers.error, signal.code);
      s.ended = true;
      break;
  }
  return { state: s, beacons: out };
}

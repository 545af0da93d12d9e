/**
 * Plays one ad break in a dedicated media element, driving the pure tracking state machine
 * (`track`) from the element's events and firing beacons. Every failure path (no fill,
 * VAST timeout, unplayable media, media error, start timeout) is reported with its VAST
 * error code and resolves: the caller always gets control back to resume content.
 * While an ad plays it shows the ad's companion and a "Learn more" link (ClickThrough);
 * following either fires its ClickTracking URLs.
 */
import { type PreparedPod, prefetchPod } from '../ad-prefetch.ts';
import {
  type AdView,
  canSkip,
  initialTracking,
  type MediaSignal,
  type TrackingState,
  track,
} from '../ad-tracking.ts';
import { mediaErrorToVast, type VastErrorCode, vastErrors } from '../vast-errors.ts';
import { type BreakPositionCode, cacheBuster, fillMacros } from '../vast-macros.ts';
import {
  type CompanionChoice,
  type LinearAd,
  pickMediaFile,
  readVast,
  type VastReadResult,
} from '../vast-read.ts';
import { adLabel, skipLabel } from './labels.ts';

export interface BreakUi {
  adElement: HTMLMediaElement;
  label: HTMLElement;
  skipButton: HTMLButtonElement;
  /** The ad's ClickThrough link ("Learn more"); hidden when the ad has none. */
  clickThrough: HTMLAnchorElement;
  /** Where the ad's companion (image or text) is shown while it plays. */
  companion: HTMLElement;
  /** Shows or hides the ad layer (and hides the content controls meanwhile). */
  showAd(on: boolean): void;
  /** The ad's progress bar (value and max in ms), when the player has one. */
  progress?: HTMLProgressElement;
}

export interface BreakEnv {
  fetch: typeof fetch;
  now: () => number;
  random: () => number;
  parseXml: (text: string) => Document;
  /** Sends one tracking URL (GET, no response needed). */
  ping: (url: string) => void;
  vastTimeoutMs: number;
  mediaStartTimeoutMs: number;
  withheld: ReadonlySet<string>;
  createObjectURL: (blob: Blob) => string;
  revokeObjectURL: (url: string) => void;
  /** Creative prefetch bounds (see ad-prefetch.ts). */
  prefetchTimeoutMs: number;
  prefetchMaxBytes: number;
}

export interface BreakContext {
  adTagUri: string;
  position: BreakPositionCode;
  contentPlayheadMs: number;
  /** The pod asked, and its media fetched, ahead of the break (`preparePod`), if any. */
  prefetched?: Promise<PreparedPod | null>;
}

/** What the ad element can play (the same chooser for prefetch and playback). */
export const playableBy =
  (el: HTMLMediaElement) =>
  (mimeType: string): boolean =>
    mimeType === '' || el.canPlayType(mimeType) !== '';

/**
 * Asks for a break's pod and downloads its creatives (`prefetchPod`); null when the pod
 * could not be had (as `fetchPod`). Never rejects.
 */
export async function preparePod(
  env: BreakEnv,
  adTagUri: string,
  canPlay: (mimeType: string) => boolean,
): Promise<PreparedPod | null> {
  const read = await fetchPod(env, adTagUri);
  if (read === null) return null;
  return prefetchPod(
    {
      fetch: env.fetch,
      createObjectURL: env.createObjectURL,
      revokeObjectURL: env.revokeObjectURL,
      timeoutMs: env.prefetchTimeoutMs,
      maxBytes: env.prefetchMaxBytes,
    },
    read,
    canPlay,
  );
}

/**
 * Asks the ad server for a break's pod. null on a network failure or VAST URI timeout
 * (there is no error URL to report to yet); never rejects.
 */
export async function fetchPod(
  env: Pick<BreakEnv, 'fetch' | 'parseXml' | 'vastTimeoutMs'>,
  adTagUri: string,
): Promise<VastReadResult | null> {
  try {
    const res = await env.fetch(adTagUri, {
      signal: AbortSignal.timeout(env.vastTimeoutMs),
      credentials: 'omit',
    });
    if (!res.ok) return null;
    return await readVast(env.parseXml(await res.text()));
  } catch {
    return null;
  }
}

/** Plays the break's pod; resolves when content may resume (never rejects). */
export async function runAdBreak(ui: BreakUi, env: BreakEnv, ctx: BreakContext): Promise<void> {
  const fire = (urls: readonly string[], adPlayheadMs: number | null, errorCode: VastErrorCode | null) => {
    for (const url of urls) {
      env.ping(
        fillMacros(url, {
          nowMs: env.now(),
          adPlayheadMs,
          mediaPlayheadMs: ctx.contentPlayheadMs,
          cacheBusting: cacheBuster(env.random),
          errorCode,
          breakPosition: ctx.position,
          withheld: env.withheld,
        }),
      );
    }
  };
  const pod = await (ctx.prefetched ?? preparePod(env, ctx.adTagUri, playableBy(ui.adElement)));
  if (pod === null) return;
  const read = pod.read;
  if (read.ads.length === 0) {
    fire(read.noAdErrorUrls, null, read.error ?? vastErrors.noAd);
    return;
  }
  try {
    for (let i = 0; i < read.ads.length; i++) {
      await playOneAd(ui, env, read.ads[i] as LinearAd, i, read.ads.length, fire, pod.media);
    }
  } finally {
    ui.showAd(false);
    showCompanion(ui, null, () => undefined);
    ui.clickThrough.hidden = true;
    ui.adElement.removeAttribute('src');
    ui.adElement.load();
    pod.release();
  }
}

/** Shows the companion (image or text, as a link when it has a click-through), or clears it. */
function showCompanion(ui: BreakUi, c: CompanionChoice | null, onClick: (c: CompanionChoice) => void) {
  const box = ui.companion;
  box.replaceChildren();
  box.hidden = c === null;
  if (!c) return;
  const doc = box.ownerDocument;
  let body: HTMLElement;
  if (c.imageUrl) {
    const img = doc.createElement('img');
    img.src = c.imageUrl;
    img.alt = c.text ?? 'Advertisement';
    if (c.width > 0) img.width = c.width;
    if (c.height > 0) img.height = c.height;
    body = img;
  } else {
    body = doc.createElement('p');
    body.textContent = c.text;
  }
  if (c.clickThrough) {
    const a = doc.createElement('a');
    a.href = c.clickThrough;
    a.target = '_blank';
    a.rel = 'noopener noreferrer sponsored';
    a.append(body);
    a.addEventListener('click', () => onClick(c));
    box.append(a);
  } else box.append(body);
}

function playOneAd(
  ui: BreakUi,
  env: BreakEnv,
  ad: LinearAd,
  index: number,
  count: number,
  fire: (urls: readonly string[], adPlayheadMs: number | null, code: VastErrorCode | null) => void,
  local: ReadonlyMap<string, string>,
): Promise<void> {
  const el = ui.adElement;
  const isVideo = el instanceof HTMLVideoElement;
  const view: AdView = {
    kind: isVideo ? 'video' : 'audio',
    durationMs: ad.durationMs,
    skipOffsetMs: ad.skipOffsetMs,
    trackers: ad.trackers,
  };
  const file = pickMediaFile(ad.mediaFiles, playableBy(el));
  if (!file) {
    fire(ad.trackers.error, null, vastErrors.unsupportedMedia);
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => {
    let state: TrackingState = initialTracking(el.muted, el.volume);
    const off: (() => void)[] = [];
    const finish = () => {
      for (const f of off) f();
      resolve();
    };
    const send = (sig: MediaSignal) => {
      const r = track(view, state, sig);
      state = r.state;
      for (const b of r.beacons) fire(b.urls, b.adPlayheadMs, b.errorCode);
      render();
      if (state.ended) finish();
    };
    const render = () => {
      const remaining = Math.max(
        0,
        (Number.isFinite(el.duration) ? el.duration * 1000 : ad.durationMs) - state.playheadMs,
      );
      ui.label.textContent = adLabel(index, count, remaining);
      if (ui.progress) {
        ui.progress.max = Math.max(1, state.playheadMs + remaining);
        ui.progress.value = state.playheadMs;
      }
      const skip = skipLabel(ad.skipOffsetMs, state.playheadMs);
      ui.skipButton.hidden = skip === null;
      ui.skipButton.textContent = skip ?? '';
      ui.skipButton.disabled = !canSkip(view, state);
      if (state.impressed && !extrasShown) showExtras();
    };
    const on = (type: string, f: () => void) => {
      el.addEventListener(type, f);
      off.push(() => el.removeEventListener(type, f));
    };
    // The spot must start within mediaStartTimeoutMs of being played; while the listener
    // holds it paused before its start the clock stops (their next play starts it again).
    let startTimer: ReturnType<typeof setTimeout> | undefined;
    const armStartTimer = () => {
      clearTimeout(startTimer);
      startTimer = setTimeout(() => {
        if (!state.started) send({ type: 'error', code: vastErrors.mediaTimeout });
      }, env.mediaStartTimeoutMs);
    };
    armStartTimer();
    off.push(() => clearTimeout(startTimer));
    on('play', () => {
      if (!state.started) armStartTimer();
    });
    on('loadedmetadata', () => send({ type: 'loadedmetadata' }));
    on('playing', () => {
      send({ type: 'playing' });
      if (isVideo && !state.frameSeen) {
        const v = el as HTMLVideoElement;
        if (typeof v.requestVideoFrameCallback === 'function')
          v.requestVideoFrameCallback(() => send({ type: 'first-frame' }));
        else if (v.currentTime > 0) send({ type: 'first-frame' });
      }
    });
    on('timeupdate', () => {
      if (isVideo && !state.frameSeen && el.currentTime > 0 && !('requestVideoFrameCallback' in el))
        send({ type: 'first-frame' });
      send({ type: 'timeupdate', ms: el.currentTime * 1000 });
    });
    on('pause', () => {
      if (!state.started) clearTimeout(startTimer);
      if (!el.ended) send({ type: 'pause' });
    });
    on('volumechange', () => send({ type: 'volume', muted: el.muted, volume: el.volume }));
    on('ended', () => send({ type: 'ended' }));
    on('error', () => send({ type: 'error', code: mediaErrorToVast(el.error?.code ?? 0) }));
    const onSkip = () => send({ type: 'skip' });
    ui.skipButton.addEventListener('click', onSkip);
    off.push(() => ui.skipButton.removeEventListener('click', onSkip));
    // Clicks count only while the ad plays (the listeners go with `finish`).
    let live = true;
    off.push(() => {
      live = false;
    });
    // "Learn more" and the companion appear with the impression (the ad began to render), not
    // when the spot is set up: a click before it would be an out-of-order click on an ad the
    // listener never saw (a listener who paused the spot while it loaded could click it first).
    const link = ui.clickThrough;
    link.hidden = true;
    if (ad.clickThrough) link.href = ad.clickThrough;
    const onClick = () => {
      if (live && state.impressed) fire(ad.clickTracking, state.playheadMs, null);
    };
    link.addEventListener('click', onClick);
    off.push(() => link.removeEventListener('click', onClick));
    showCompanion(ui, null, () => undefined);
    let extrasShown = false;
    const showExtras = () => {
      extrasShown = true;
      link.hidden = ad.clickThrough === null;
      showCompanion(ui, ad.companions[0] ?? null, (c) => {
        if (live && state.impressed) fire(c.clickTracking, state.playheadMs, null);
      });
    };

    ui.showAd(true);
    render();
    el.src = local.get(file.url) ?? file.url;
    el.play().catch((e: unknown) => {
      // Paused by the listener (k, space) while the spot was still loading: the pending play
      // is aborted. That is a pause, not a failure (it used to end the break with an error
      // beacon; a loaded machine made it common in the tests).
      if ((e as { name?: string } | null)?.name === 'AbortError' && el.paused) return;
      // Autoplay refused or source failed before playing: report and give content back.
      send({ type: 'error', code: vastErrors.linear });
    });
  });
}

/**
 * The framework-free player: a content <audio>/<video>, a second element for ads, the
 * "Ad 1 of 2 · 0:12" label, a skip button, and a peers line. It wires the pure parts
 * (break scheduling, tracking, play beacons, listener id) to the DOM. This file and
 * browser-entry.ts are the only places that read browser globals.
 */

import type { PreparedPod } from '../ad-prefetch.ts';
import {
  breakForMove,
  breakToPrefetch,
  resolveBreaks,
  type ScheduledBreak,
  type TimelineMove,
  type VmapBreak,
} from '../ad-schedule.ts';
import { listenerId, withListenerId } from '../listener-id.ts';
import { newPlaySession, type PlaySession, type PlaySignal, playStep } from '../play-beacons.ts';
import { readVmap } from '../vmap-read.ts';
import { type BreakEnv, playableBy, preparePod, runAdBreak } from './ad-break-runner.ts';
import { cueDisplayText, p2pStatus, playbackRates, rateLabel } from './labels.ts';

/** Transfer figures from the delivery engine (P2P + web seed), when one feeds the element. */
export interface TransferStats {
  peers: number;
  bytesFromPeers: number;
  bytesFromWebSeed: number;
  /** How the page meets peers (the listener's choice, or none without the engine). */
  peerMode?: 'share' | 'relay' | 'off' | 'none';
}

export interface PlayerOptions {
  kind: 'audio' | 'video';
  /** The content URL the element plays (origin web seed, or a Service Worker URL). */
  src: string;
  /**
   * The content element's CORS mode. 'anonymous' lets the element mix responses from the
   * network and from the Service Worker in one byte stream (the P2P player's hand-over; the
   * media origin must then send Access-Control-Allow-Origin, as ours does).
   */
  crossOrigin?: 'anonymous';
  episodeId: string;
  /** `GET /ads/vmap?episode=...`; null for no ads. */
  vmapUrl: string | null;
  /** Base URL of the collector ('' = same origin): `POST <base>/beacon/play`. */
  collectorBase: string;
  title?: string;
  stats?: () => TransferStats;
  progressIntervalMs?: number;
  /** How long before a mid- or post-roll its pod is asked for (default 10 s). */
  prefetchLeadMs?: number;
  vastTimeoutMs?: number;
  mediaStartTimeoutMs?: number;
  /** Creatives larger than this are streamed, not prefetched (default 16 MiB). */
  prefetchMaxBytes?: number;
  /**
   * The episode's transcript as WebVTT (the node converts SRT and Podcasting 2.0 JSON on
   * upload): shown as synced captions under the player, switched by a CC button or "c".
   */
  captions?: { src: string; language?: string; label?: string };
}

export interface PlayerHandle {
  content: HTMLMediaElement;
  ad: HTMLMediaElement;
  /** Moves the content to `ms` and plays (ignored while an ad plays): chapters use it. */
  seek(ms: number): void;
  /** Removes listeners and timers, sends `stop` if playing. */
  destroy(): void;
}

const positionCode = { pre: 1, mid: 2, post: 3 } as const;

export function mountPlayer(root: HTMLElement, o: PlayerOptions): PlayerHandle {
  const doc = root.ownerDocument;
  const make = <K extends keyof HTMLElementTagNameMap>(tag: K, cls: string) => {
    const e = doc.createElement(tag);
    e.className = cls;
    return e;
  };
  const box = make('div', 'sc-player');
  box.setAttribute('role', 'region');
  box.setAttribute('aria-label', o.title ? `Player: ${o.title}` : 'Player');
  box.tabIndex = 0;
  const content = make(o.kind, 'sc-content') as HTMLMediaElement;
  content.controls = true;
  content.preload = 'metadata';
  if (o.crossOrigin) content.crossOrigin = o.crossOrigin;
  content.src = o.src;
  content.setAttribute('aria-label', o.title ? `Episode: ${o.title}` : 'Episode');
  const ad = make(o.kind, 'sc-ad') as HTMLMediaElement;
  ad.hidden = true;
  ad.setAttribute('aria-label', 'Advertisement');
  // The ad bar: what is playing, how far it is, when it can be skipped, where it leads.
  const adBar = make('div', 'sc-ad-bar');
  adBar.hidden = true;
  adBar.setAttribute('role', 'group');
  adBar.setAttribute('aria-label', 'Advertisement');
  const badge = make('span', 'sc-ad-badge');
  badge.textContent = 'Ad';
  badge.setAttribute('aria-hidden', 'true');
  const label = make('span', 'sc-ad-label');
  label.setAttribute('aria-live', 'polite');
  const progress = make('progress', 'sc-ad-progress') as HTMLProgressElement;
  progress.setAttribute('aria-label', 'Ad progress');
  progress.max = 1;
  progress.value = 0;
  const skip = make('button', 'sc-skip');
  skip.type = 'button';
  skip.hidden = true;
  const learnMore = make('a', 'sc-click');
  learnMore.textContent = 'Learn more';
  learnMore.target = '_blank';
  learnMore.rel = 'noopener noreferrer sponsored';
  learnMore.setAttribute('aria-label', 'Learn more about this ad (opens a new tab)');
  learnMore.hidden = true;
  adBar.append(badge, label, progress, skip, learnMore);
  const companion = make('aside', 'sc-companion');
  companion.setAttribute('aria-label', 'Advertisement');
  companion.hidden = true;
  // Listening controls beside the element's own: skip back 15 s, forward 30 s, speed.
  const controls = make('div', 'sc-controls');
  controls.setAttribute('role', 'group');
  controls.setAttribute('aria-label', 'Playback');
  const jump = (text: string, aria: string, by: number) => {
    const b = make('button', 'sc-jump') as HTMLButtonElement;
    b.type = 'button';
    b.textContent = text;
    b.setAttribute('aria-label', aria);
    b.addEventListener('click', () => {
      if (inBreak) return;
      const end = Number.isFinite(content.duration) ? content.duration : Number.POSITIVE_INFINITY;
      content.currentTime = Math.min(end, Math.max(0, content.currentTime + by));
    });
    return b;
  };
  const back = jump('↺ 15', 'Back 15 seconds', -15);
  const fwd = jump('30 ↻', 'Forward 30 seconds', 30);
  const speedLabel = make('label', 'sc-speed');
  const speed = make('select', 'sc-speed-select') as HTMLSelectElement;
  for (const r of playbackRates) {
    const opt = doc.createElement('option');
    opt.value = String(r);
    opt.textContent = rateLabel(r);
    opt.selected = r === 1;
    speed.append(opt);
  }
  speed.addEventListener('change', () => {
    content.playbackRate = Number(speed.value) || 1;
  });
  speedLabel.append('Speed ', speed);
  controls.append(back, fwd, speedLabel);
  // Captions: a <track> the element loads (mode hidden: cues fire, the browser draws
  // nothing, which an <audio> could not anyway) and a line under the player showing them.
  const captionLine = make('div', 'sc-captions');
  captionLine.hidden = true;
  captionLine.setAttribute('role', 'group');
  captionLine.setAttribute('aria-label', 'Captions');
  captionLine.style.cssText =
    'background:rgba(0,0,0,.85);color:#fff;padding:.35rem .6rem;border-radius:.25rem;font-size:1.05rem;line-height:1.4;white-space:pre-line;margin:.3rem 0';
  let captionTrack: TextTrack | null = null;
  let cc: HTMLButtonElement | null = null;
  if (o.captions) {
    const track = doc.createElement('track');
    track.kind = 'captions';
    track.src = o.captions.src;
    track.srclang = o.captions.language ?? 'en';
    track.label = o.captions.label ?? 'Captions';
    content.append(track);
    captionTrack = track.track;
    captionTrack.mode = 'hidden';
    cc = make('button', 'sc-cc') as HTMLButtonElement;
    cc.type = 'button';
    cc.textContent = 'CC';
    cc.setAttribute('aria-label', 'Captions');
    cc.setAttribute('aria-pressed', 'false');
    cc.title = 'Captions (c)';
    controls.append(cc);
  }
  const peers = make('div', 'sc-peers');
  peers.setAttribute('aria-live', 'off');
  const dot = make('span', 'sc-p2p-dot');
  dot.setAttribute('aria-hidden', 'true');
  const peersText = make('span', 'sc-p2p-text');
  const meter = make('meter', 'sc-p2p-meter') as HTMLMeterElement;
  meter.min = 0;
  meter.max = 100;
  meter.setAttribute('aria-label', 'Share of this episode from other listeners');
  peers.append(dot, peersText, meter);
  box.append(content, captionLine, ad, adBar, companion, controls, peers);
  root.append(box);

  const win = doc.defaultView ?? globalThis;
  const nav = win.navigator as Navigator & { globalPrivacyControl?: boolean };
  let store: Storage | null = null;
  try {
    store = win.localStorage;
  } catch {
    store = null;
  }
  const privacy = { doNotTrack: nav.doNotTrack, globalPrivacyControl: nav.globalPrivacyControl === true };
  const memory = new Map<string, string>();
  const lid = listenerId(
    privacy,
    store ?? {
      getItem: (k) => memory.get(k) ?? null,
      setItem: (k, v) => void memory.set(k, v),
      removeItem: (k) => void memory.delete(k),
    },
    Date.now(),
    (n) => crypto.getRandomValues(new Uint8Array(n)),
  );
  const withheld = new Set<string>(lid === null ? ['MEDIAPLAYHEAD', 'CONTENTPLAYHEAD'] : []);

  // Captions on or off, remembered on this device (default off).
  const captionsKey = 'swarmcast.captions';
  let captionsOn = (() => {
    try {
      return store?.getItem(captionsKey) === 'on';
    } catch {
      return false;
    }
  })();
  const renderCaptions = () => {
    const cues = captionTrack?.activeCues;
    const text =
      captionsOn && cues
        ? Array.from(cues)
            .map((c) => cueDisplayText((c as VTTCue).text ?? ''))
            .filter(Boolean)
            .join('\n')
        : '';
    captionLine.textContent = text;
    captionLine.hidden = text === '';
  };
  const setCaptions = (onOff: boolean) => {
    if (!cc) return;
    captionsOn = onOff;
    cc.setAttribute('aria-pressed', String(onOff));
    try {
      store?.setItem(captionsKey, onOff ? 'on' : 'off');
    } catch {
      // private mode: the choice lasts for this page
    }
    renderCaptions();
  };
  if (cc) setCaptions(captionsOn);

  // Play beacons.
  let session: PlaySession = newPlaySession(
    crypto.randomUUID(),
    o.episodeId,
    lid,
    o.progressIntervalMs ?? 10_000,
  );
  const playUrl = `${o.collectorBase}/beacon/play`;
  const step = (sig: PlaySignal, leaving = false) => {
    const r = playStep(session, sig);
    session = r.session;
    if (!r.beacon) return;
    const body = JSON.stringify(r.beacon);
    if (leaving && typeof nav.sendBeacon === 'function') nav.sendBeacon(playUrl, body);
    else
      void fetch(playUrl, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
        keepalive: true,
      }).catch(() => undefined);
  };

  // Ads.
  let vmapBreaks: VmapBreak[] = [];
  // The listener id goes with the VMAP request: the VMAP passes it on in every break's VAST
  // tag, and frequency caps count per id (without it capped line items never fill).
  const vmapUrl = o.vmapUrl === null ? null : withListenerId(o.vmapUrl, lid, doc.baseURI);
  const vmapReady: Promise<void> = vmapUrl
    ? fetch(vmapUrl, { signal: AbortSignal.timeout(o.vastTimeoutMs ?? 5000) })
        .then((r) => (r.ok ? r.text() : ''))
        .then((t) => {
          vmapBreaks = t ? readVmap(new DOMParser().parseFromString(t, 'text/xml')) : [];
        })
        .catch(() => undefined)
    : Promise.resolve();
  const breaks = (): ScheduledBreak[] =>
    resolveBreaks(vmapBreaks, Number.isFinite(content.duration) ? content.duration * 1000 : null).breaks;
  const played = new Set<string>();
  let inBreak = false;
  let lastMs = 0;
  let firstPlay = true;

  const showAd = (on: boolean) => {
    ad.hidden = !on;
    adBar.hidden = !on;
    content.hidden = on && o.kind === 'video';
    // The content's scrubber and our jumps are off while an ad plays.
    content.controls = !on;
    content.toggleAttribute('inert', on);
    for (const c of [back, fwd, speed]) c.disabled = on;
    if (on) skip.focus({ preventScroll: true });
  };
  const breakEnv: BreakEnv = {
    fetch: (u, i) => fetch(u, i),
    now: () => Date.now(),
    random: Math.random,
    parseXml: (t) => new DOMParser().parseFromString(t, 'text/xml'),
    ping: (u) =>
      void fetch(u, { mode: 'no-cors', keepalive: true, credentials: 'omit' }).catch(() => undefined),
    vastTimeoutMs: o.vastTimeoutMs ?? 5000,
    mediaStartTimeoutMs: o.mediaStartTimeoutMs ?? 8000,
    withheld,
    createObjectURL: (b) => URL.createObjectURL(b),
    revokeObjectURL: (u) => URL.revokeObjectURL(u),
    prefetchTimeoutMs: o.vastTimeoutMs ?? 5000,
    prefetchMaxBytes: o.prefetchMaxBytes ?? 16 * 1024 * 1024,
  };
  // Pods asked, and their creatives downloaded, ahead of their break: the pre-roll at the
  // listener's first sign of intent (pointer over or focus in the player), mid- and
  // post-rolls `prefetchLeadMs` before. Not at page load, so a page view that never plays
  // asks the ad server for nothing.
  const prefetches = new Map<string, Promise<PreparedPod | null>>();
  const prefetch = (b: ScheduledBreak) => {
    if (!prefetches.has(b.id)) prefetches.set(b.id, preparePod(breakEnv, b.adTagUri, playableBy(ad)));
  };
  const playCue = async (move: TimelineMove): Promise<boolean> => {
    const list = breaks();
    const cue = breakForMove(list, played, move);
    if (!cue) return false;
    const b = list.find((x) => x.id === cue.breakId) as ScheduledBreak;
    played.add(cue.breakId);
    inBreak = true;
    content.pause();
    await runAdBreak(
      { adElement: ad, label, skipButton: skip, clickThrough: learnMore, companion, showAd, progress },
      breakEnv,
      {
        adTagUri: b.adTagUri,
        position: positionCode[b.position],
        contentPlayheadMs: lastMs,
        prefetched: prefetches.get(b.id) ?? preparePod(breakEnv, b.adTagUri, playableBy(ad)),
      },
    );
    prefetches.delete(b.id);
    inBreak = false;
    if (move.kind !== 'ended') {
      content.currentTime = cue.resumeAtMs / 1000;
      lastMs = cue.resumeAtMs;
      await content.play().catch(() => undefined);
    }
    return true;
  };

  const listeners: [EventTarget, string, EventListener][] = [];
  const on = (t: EventTarget, type: string, f: EventListener) => {
    t.addEventListener(type, f);
    listeners.push([t, type, f]);
  };
  on(content, 'play', () => {
    if (!firstPlay || inBreak) return;
    firstPlay = false;
    content.pause();
    void vmapReady.then(async () => {
      if (!(await playCue({ kind: 'before-first-frame' }))) await content.play().catch(() => undefined);
    });
  });
  on(content, 'playing', () => {
    if (!inBreak) step({ type: 'playing', nowMs: Date.now() });
  });
  on(content, 'pause', () => step({ type: 'pause' }));
  on(content, 'timeupdate', () => {
    // While seeking the position is not settled; the timeupdate after `seeked` makes the move.
    if (inBreak || firstPlay || content.seeking) return;
    const now = content.currentTime * 1000;
    step({ type: 'timeupdate', nowMs: Date.now(), positionMs: now, durationMs: content.duration * 1000 });
    const from = lastMs;
    lastMs = now;
    void playCue({ kind: 'advance', fromMs: from, toMs: now });
    const next = breakToPrefetch(breaks(), played, now, o.prefetchLeadMs ?? 10_000);
    if (next) prefetch(next);
  });
  const intent = () => {
    if (!firstPlay) return;
    void vmapReady.then(() => {
      const pre = breaks().find((b) => b.position === 'pre' && !played.has(b.id));
      if (pre) prefetch(pre);
    });
  };
  on(box, 'pointerenter', intent);
  on(box, 'focusin', intent);
  on(content, 'ended', () => {
    step({ type: 'ended', nowMs: Date.now() });
    void playCue({ kind: 'ended', atMs: content.duration * 1000 });
  });
  if (captionTrack && cc) {
    const button = cc;
    on(captionTrack, 'cuechange', renderCaptions);
    on(button, 'click', () => setCaptions(!captionsOn));
  }
  on(box, 'keydown', (ev) => {
    const e = ev as KeyboardEvent;
    if (
      e.key === 'c' &&
      cc &&
      !e.ctrlKey &&
      !e.metaKey &&
      !e.altKey &&
      !(e.target instanceof HTMLSelectElement || e.target instanceof HTMLInputElement)
    ) {
      e.preventDefault();
      setCaptions(!captionsOn);
      return;
    }
    if (e.target instanceof HTMLButtonElement) return;
    const el = inBreak ? ad : content;
    if (e.key === ' ' || e.key === 'k') {
      e.preventDefault();
      if (el.paused) void el.play().catch(() => undefined);
      else el.pause();
    } else if (e.key === 'm') el.muted = !el.muted;
    else if (!inBreak && (e.key === 'ArrowRight' || e.key === 'ArrowLeft')) {
      e.preventDefault();
      content.currentTime = Math.max(0, content.currentTime + (e.key === 'ArrowRight' ? 5 : -5));
    }
  });
  const leave = () => step({ type: 'leave' }, true);
  on(win, 'pagehide', leave);

  const renderStats = () => {
    const s = o.stats?.() ?? null;
    if (s)
      step({
        type: 'bytes',
        fromPeers: s.bytesFromPeers,
        fromWebSeed: s.bytesFromWebSeed,
        ...(s.peerMode ? { peerMode: s.peerMode } : {}),
      });
    const st = s ? p2pStatus(s.peers, s.bytesFromPeers, s.bytesFromWebSeed) : null;
    peersText.textContent = st ? st.text : 'Streaming from the server';
    meter.value = st ? st.share : 0;
    meter.hidden = !st;
    peers.dataset.state = !s ? 'server' : s.peers > 0 ? 'peers' : 'waiting';
  };
  renderStats();
  const timer = setInterval(renderStats, 1000);

  return {
    content,
    ad,
    seek(ms: number) {
      if (inBreak) return;
      content.currentTime = Math.max(0, ms / 1000);
      void content.play().catch(() => undefined);
    },
    destroy() {
      leave();
      clearInterval(timer);
      for (const p of prefetches.values()) void p.then((pod) => pod?.release());
      prefetches.clear();
      for (const [t, type, f] of listeners) t.removeEventListener(type, f);
      box.remove();
    },
  };
}

/**
 * The player with peer-to-peer delivery: mounts the ordinary player with the content element
 * on the origin URL marked for the swarm (`p2pStreamSrc`), so it never waits on the Service
 * Worker or the engine, and starts the episode's swarm engine beside it; once the engine runs
 * and the Service Worker controls the page, the element's next range request is answered by
 * the engine, inside the same byte stream (stream-protocol.ts). Adds the sharing panel (the listener's upload limits, peers, share of bytes from
 * peers, bytes uploaded), feeds the playhead to the engine, keeps sharing for the chosen
 * minutes after the episode ends, and gives the transfer stats to the play beacons.
 */
import {
  mountPlayer,
  type PlayerHandle,
  type PlayerOptions,
  type TransferStats,
} from '../ui/mount-player.ts';
import { type PeerMode, peerModes } from './ice-config.ts';
import {
  keepMinutesChoices,
  peerModeLabels,
  rateLabel,
  readSharing,
  type SharingSettings,
  sharingKey,
  uploadCapOf,
  uploadLimitChoices,
  writeSharing,
} from './sharing-settings.ts';
import { type P2pPlayback, p2pStreamSrc, startP2p } from './start-p2p.ts';

export interface P2pPlayerOptions {
  torrentUrl: string;
  durationMs?: number;
  /** false: no WebRTC (web seed only through the same engine), whatever the listener chose. */
  webrtc?: boolean;
  /** The node's ICE servers for this page (default `/p2p/ice` at the torrent's origin). */
  iceUrl?: string;
  /** Live peer connections at most (default 12). */
  maxPeerConnections?: number;
  /** Non-fatal engine trouble (tracker, peers, web seed), for diagnostics. */
  onWarning?: (message: string) => void;
  /** Start the engine after this long even if the element has not settled (default 3 s). */
  engineStartTimeoutMs?: number;
}

/**
 * Resolves when the element no longer needs the page for its start: it is playing (first
 * frame or first audio out), or it holds its metadata and nobody asked it to play, or it
 * failed; at the latest after `timeoutMs`.
 */
function elementSettled(content: HTMLMediaElement, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const events = ['playing', 'loadedmetadata', 'error'] as const;
    const done = () => {
      clearTimeout(timer);
      for (const t of events) content.removeEventListener(t, check);
      resolve();
    };
    const check = (e: Event) => {
      if (e.type !== 'loadedmetadata' || content.paused) done();
    };
    const timer = setTimeout(done, timeoutMs);
    for (const t of events) content.addEventListener(t, check);
  });
}

export interface P2pPlayerHandle extends PlayerHandle {
  /** Resolves with the running engine, or null when this page plays the origin URL. */
  readonly p2p: Promise<P2pPlayback | null>;
}

const megabytes = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

export function mountP2pPlayer(root: HTMLElement, o: PlayerOptions, p: P2pPlayerOptions): P2pPlayerHandle {
  let playback: P2pPlayback | null = null;
  let startedMode: PeerMode = 'share';
  const originSrc = o.src;
  // The element's URL from the first moment (the origin, answered by the swarm once it runs).
  const src =
    typeof navigator !== 'undefined' && 'serviceWorker' in navigator
      ? p2pStreamSrc(p.torrentUrl, originSrc, p.durationMs)
      : originSrc;
  const elementOrigin = elementOriginBytes(src, src !== originSrc);
  // Whether the element jumped before the engine answered it: then its first engine range
  // no longer marks the end of one prefix read from the origin.
  let seekedBeforeEngine = false;
  const onEarlySeek = () => {
    if (playback?.requests().firstEngineStart == null) seekedBeforeEngine = true;
  };
  /**
   * Bytes the element read from the origin before the engine answered it. Resource Timing
   * gives a read's body size only when the read completed: Chromium reports a media read it
   * cancelled (a deferred preload, a loaded machine) with no body. Without a seek, the element
   * reads one prefix from the origin and asks the engine for the next byte, so the first
   * byte the engine was asked for is a lower bound of that prefix; the larger figure counts.
   */
  const elementOriginNow = () => {
    const measured = elementOrigin.bytes();
    const first = playback?.requests().firstEngineStart ?? null;
    return first !== null && !seekedBeforeEngine ? Math.max(measured, first) : measured;
  };
  // What the listener got from where: the engine's counts, plus the bytes the element read
  // from the origin itself before the engine answered (origin bytes the engine never saw;
  // leaving them out made the P2P share the creator reads higher than the origin's egress).
  const transfer = () => {
    const s = playback?.engine.stats();
    return s ? { ...s, bytesFromWebSeed: s.bytesFromWebSeed + elementOriginNow() } : null;
  };
  const stats = (): TransferStats => {
    const s = transfer();
    // The mode this page started its engine with (a change applies to the next episode).
    return s
      ? {
          peers: s.peers,
          bytesFromPeers: s.bytesFromPeers,
          bytesFromWebSeed: s.bytesFromWebSeed,
          peerMode: p.webrtc === false ? 'off' : startedMode,
        }
      : { peers: 0, bytesFromPeers: 0, bytesFromWebSeed: 0, peerMode: 'none' };
  };
  // CORS mode: Chromium refuses to mix a no-CORS network response and a Service Worker's
  // response in one media resource (data source error at the hand-over); with CORS it checks
  // each response instead. The engine's web seed reads need CORS from the origin anyway.
  const handle = mountPlayer(root, {
    ...o,
    src,
    stats,
    ...(src !== originSrc ? { crossOrigin: 'anonymous' } : {}),
  });
  const content = handle.content;

  const doc = root.ownerDocument;
  const win = doc.defaultView ?? globalThis;
  let store: Storage | null = null;
  try {
    store = win.localStorage;
  } catch {
    store = null;
  }
  let settings: SharingSettings = readSharing(store?.getItem(sharingKey) ?? null);
  const panel = sharingPanel(doc, settings, (next) => {
    settings = next;
    try {
      store?.setItem(sharingKey, writeSharing(next));
    } catch {
      // Private mode: the choice holds for this page only.
    }
    playback?.engine.setUploadRateLimit(uploadCapOf(next));
  });
  content.parentElement?.append(panel.root);

  let keepTimer: ReturnType<typeof setTimeout> | null = null;
  const listeners: [string, EventListener][] = [
    ['timeupdate', () => playback?.engine.setPlayheadSeconds(content.currentTime)],
    [
      'seeking',
      () => {
        onEarlySeek();
        playback?.engine.setPlayheadSeconds(content.currentTime);
      },
    ],
    ['loadedmetadata', () => playback?.engine.setDuration(content.duration)],
    [
      'play',
      () => {
        if (keepTimer) clearTimeout(keepTimer);
        keepTimer = null;
      },
    ],
    [
      'ended',
      () => {
        // Polite: keep serving other listeners a while, then leave the swarm.
        keepTimer = setTimeout(() => void playback?.stop(), settings.keepMinutes * 60_000);
      },
    ],
  ];
  for (const [t, f] of listeners) content.addEventListener(t, f);

  startedMode = settings.peers;
  // The engine (Service Worker registration, torrent, tracker, hashing) starts once the
  // element has what it needs, so it never competes with the first frame.
  const ready = elementSettled(content, p.engineStartTimeoutMs ?? 3000)
    .then(() =>
      startP2p({
        torrentUrl: p.torrentUrl,
        originSrc,
        ...(p.durationMs ? { durationMs: p.durationMs } : {}),
        ...(p.webrtc === false ? { webrtc: false } : {}),
        peerMode: settings.peers,
        ...(p.iceUrl ? { iceUrl: p.iceUrl } : {}),
        ...(p.maxPeerConnections ? { maxPeerConnections: p.maxPeerConnections } : {}),
        ...(p.onWarning ? { onWarning: p.onWarning } : {}),
      }),
    )
    .then(
      (pb) => {
        playback = pb;
        pb?.engine.setUploadRateLimit(uploadCapOf(settings));
        return pb;
      },
      (err) => {
        // The element keeps reading the origin (the Service Worker finds no engine to ask).
        console.warn('swarmcast: peer-to-peer playback unavailable:', err);
        return null;
      },
    );
  const timer = setInterval(() => panel.show(transfer(), settings), 1000);

  return {
    ...handle,
    p2p: ready,
    destroy() {
      clearInterval(timer);
      elementOrigin.stop();
      if (keepTimer) clearTimeout(keepTimer);
      for (const [t, f] of listeners) content.removeEventListener(t, f);
      handle.destroy();
      void ready.then((pb) => pb?.stop());
    },
  };
}

/**
 * Bytes the media element read over the network for its marked URL (`url`): Resource Timing
 * lists each of its range requests; one the Service Worker answered from the engine has no
 * transfer size (nothing crossed the network), so only the origin's answers count. A
 * PerformanceObserver, not the entry buffer, which holds 250 entries and a long episode's
 * windows can pass that.
 */
function elementOriginBytes(url: string, marked: boolean): { bytes(): number; stop(): void } {
  let total = 0;
  if (!marked || typeof PerformanceObserver === 'undefined') return { bytes: () => 0, stop: () => {} };
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries() as PerformanceResourceTiming[]) {
      if (e.name === url && e.transferSize > 0) total += e.encodedBodySize;
    }
  });
  try {
    observer.observe({ type: 'resource', buffered: true });
  } catch {
    // An engine without resource timing: the element's own reads stay uncounted, as before.
  }
  return { bytes: () => total, stop: () => observer.disconnect() };
}

function sharingPanel(
  doc: Document,
  initial: SharingSettings,
  change: (s: SharingSettings) => void,
): {
  root: HTMLElement;
  show(
    s: { peers: number; bytesFromPeers: number; bytesFromWebSeed: number; uploaded: number } | null,
    settings: SharingSettings,
  ): void;
} {
  const el = <K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text = '') => {
    const e = doc.createElement(tag);
    e.className = cls;
    if (text) e.textContent = text;
    return e;
  };
  let current = initial;
  const root = el('details', 'sc-sharing');
  const summary = el('summary', 'sc-sharing-summary');
  const line = el('p', 'sc-sharing-stats');
  line.setAttribute('aria-live', 'off');
  const shareBox = el('input', 'sc-share');
  shareBox.type = 'checkbox';
  shareBox.checked = current.share;
  const shareLabel = el('label', 'sc-share-label');
  shareLabel.append(shareBox, ' Share this episode with other listeners');
  const select = (
    cls: string,
    label: string,
    choices: readonly number[],
    text: (n: number) => string,
    value: number,
  ) => {
    const s = el('select', cls);
    for (const c of choices) {
      const opt = el('option', '', text(c));
      opt.value = String(c);
      opt.selected = c === value;
      s.append(opt);
    }
    const l = el('label', `${cls}-label`, `${label} `);
    l.append(s);
    return { s, l };
  };
  // How to meet peers, with what each choice discloses (applies from the next episode played).
  const mode = el('select', 'sc-peer-mode');
  for (const m of peerModes) {
    const opt = el('option', '', peerModeLabels[m].label);
    opt.value = m;
    opt.selected = m === current.peers;
    mode.append(opt);
  }
  const modeLabel = el('label', 'sc-peer-mode-label', 'Peers ');
  modeLabel.append(mode);
  const disclosure = el('p', 'sc-peer-disclosure', peerModeLabels[current.peers].disclosure);
  disclosure.id = `sc-peer-disclosure-${Math.random().toString(36).slice(2, 8)}`;
  mode.setAttribute('aria-describedby', disclosure.id);
  const limit = select('sc-upload-limit', 'Upload limit', uploadLimitChoices, rateLabel, current.uploadLimit);
  const keep = select(
    'sc-keep',
    'Keep sharing after the episode',
    keepMinutesChoices,
    (n) => (n === 0 ? 'No' : `${n} min`),
    current.keepMinutes,
  );
  const update = () => {
    const peers = (peerModes as readonly string[]).includes(mode.value) ? (mode.value as PeerMode) : 'share';
    const changed = peers !== initial.peers;
    current = {
      peers,
      share: shareBox.checked,
      uploadLimit: Number(limit.s.value),
      keepMinutes: Number(keep.s.value),
    };
    limit.s.disabled = !current.share || peers === 'off';
    disclosure.textContent =
      peerModeLabels[peers].disclosure + (changed ? ' (From the next episode you play.)' : '');
    change(current);
  };
  mode.addEventListener('change', update);
  shareBox.addEventListener('change', update);
  limit.s.addEventListener('change', update);
  keep.s.addEventListener('change', update);
  root.append(summary, modeLabel, disclosure, shareLabel, limit.l, keep.l, line);
  const show = (
    s: { peers: number; bytesFromPeers: number; bytesFromWebSeed: number; uploaded: number } | null,
    settings: SharingSettings,
  ) => {
    summary.textContent =
      settings.peers === 'off'
        ? 'Peer-to-peer off'
        : !settings.share
          ? 'Sharing off'
          : `Sharing · up to ${settings.uploadLimit > 0 ? rateLabel(settings.uploadLimit) : 'no limit'}`;
    if (!s) {
      line.textContent = 'Playing from the web (no peer-to-peer in this browser)';
      return;
    }
    const total = s.bytesFromPeers + s.bytesFromWebSeed;
    const share = total > 0 ? Math.round((100 * s.bytesFromPeers) / total) : 0;
    line.textContent = `${s.peers} ${s.peers === 1 ? 'peer' : 'peers'} · ${share}% of ${megabytes(total)} from peers · uploaded ${megabytes(s.uploaded)}`;
  };
  show(null, current);
  return { root, show };
}

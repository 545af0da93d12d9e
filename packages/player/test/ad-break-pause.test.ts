import { DOMParser } from '@xmldom/xmldom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type BreakEnv, type BreakUi, runAdBreak } from '../src/ui/ad-break-runner.ts';
import { readVast } from '../src/vast-read.ts';

/**
 * A listener who pauses a spot while it is still loading (k or space as the break begins):
 * the browser aborts the pending play() (AbortError), and the runner took that for a failed
 * spot: an error beacon and the break given up, or, once paused, the start timer's
 * timeout. Under load this is what player-e2e's "page D" hit. A pause before the start is
 * a pause: nothing is reported, and the listener's next play plays the spot in full.
 */

/** The parts of an HTMLMediaElement the runner uses, with play() as Chromium does it. */
class FakeMedia extends EventTarget {
  paused = true;
  ended = false;
  muted = false;
  volume = 1;
  currentTime = 0;
  duration = Number.NaN;
  error: MediaError | null = null;
  src = '';
  private pending: { resolve(): void; reject(e: unknown): void } | undefined;
  play(): Promise<void> {
    this.paused = false;
    this.dispatchEvent(new Event('play'));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
    });
  }
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.pending?.reject(
      new DOMException('The play() request was interrupted by a call to pause().', 'AbortError'),
    );
    this.pending = undefined;
    this.dispatchEvent(new Event('pause'));
  }
  /** The media has loaded: the pending play resolves and it plays. */
  begin(): void {
    this.pending?.resolve();
    this.pending = undefined;
    this.dispatchEvent(new Event('playing'));
  }
  finish(): void {
    this.ended = true;
    this.paused = true;
    this.dispatchEvent(new Event('ended'));
  }
  get hasPendingPlay(): boolean {
    return this.pending !== undefined;
  }
  canPlayType(): string {
    return 'maybe';
  }
  removeAttribute(): void {}
  load(): void {}
}

const base = 'https://ads.test';
const vast = `<?xml version="1.0" encoding="UTF-8"?><VAST version="4.3" xmlns="http://www.iab.com/VAST"><Ad id="a" sequence="1"><InLine>
<AdSystem>test</AdSystem><AdTitle>t</AdTitle>
<Impression><![CDATA[${base}/impression]]></Impression>
<Error><![CDATA[${base}/error?code=[ERRORCODE]]]></Error>
<Creatives><Creative id="c"><Linear><Duration>00:00:05.000</Duration>
<TrackingEvents><Tracking event="start"><![CDATA[${base}/start]]></Tracking><Tracking event="pause"><![CDATA[${base}/pause]]></Tracking><Tracking event="complete"><![CDATA[${base}/complete]]></Tracking></TrackingEvents>
<MediaFiles><MediaFile delivery="progressive" type="audio/mpeg" bitrate="64"><![CDATA[${base}/spot.mp3]]></MediaFile></MediaFiles>
</Linear></Creative></Creatives></InLine></Ad></VAST>`;

describe('a spot paused before it starts', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    // The runner tells video from audio with instanceof; there is no DOM here.
    vi.stubGlobal('HTMLVideoElement', class {});
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('is a pause, not an error: no error beacon, no timeout, and it plays in full when resumed', async () => {
    const el = new FakeMedia();
    const pinged: string[] = [];
    const button = () => Object.assign(new EventTarget(), { hidden: true, textContent: '', disabled: true });
    const ui = {
      adElement: el,
      label: { textContent: '' },
      skipButton: button(),
      clickThrough: Object.assign(new EventTarget(), { hidden: true, href: '' }),
      companion: { hidden: true, replaceChildren() {} },
      showAd: () => {},
    } as unknown as BreakUi;
    const parseXml = (t: string) => new DOMParser().parseFromString(t, 'text/xml') as unknown as Document;
    const env: BreakEnv = {
      fetch: () => Promise.reject(new Error('no network here')),
      now: () => Date.now(),
      random: () => 0.5,
      parseXml,
      ping: (u) => pinged.push(u.split('?')[0]!.slice(base.length)),
      vastTimeoutMs: 5_000,
      mediaStartTimeoutMs: 8_000,
      withheld: new Set(),
      createObjectURL: () => 'blob:x',
      revokeObjectURL: () => {},
      prefetchTimeoutMs: 5_000,
      prefetchMaxBytes: 1 << 20,
    };
    const read = await readVast(parseXml(vast));
    let over = false;
    const done = runAdBreak(ui, env, {
      adTagUri: `${base}/vast`,
      position: 1,
      contentPlayheadMs: 0,
      prefetched: Promise.resolve({ read, media: new Map(), release() {} }),
    }).then(() => {
      over = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(el.hasPendingPlay).toBe(true);
    // The listener pauses while the spot loads, and stays away longer than the start limit.
    el.pause();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(pinged).toEqual([]);
    expect(over).toBe(false);
    // Back: play (as the player's k does), the media starts, and plays to its end.
    void el.play().catch(() => {});
    el.begin();
    await vi.advanceTimersByTimeAsync(0);
    el.finish();
    await done;
    expect(pinged).toEqual(['/impression', '/start', '/complete']);
  });
});

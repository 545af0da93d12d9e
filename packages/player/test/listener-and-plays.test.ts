// The collector's own parsers check that what the player sends is what measure accepts.
import { parseAdBeacon, parsePlayBeacon } from '@swarmcast/measure';
import { describe, expect, it } from 'vitest';
import {
  type KeyValueStore,
  listenerId,
  listenerIdKey,
  newListenerId,
  privacyWithholds,
  withListenerId,
} from '../src/listener-id.ts';
import { newPlaySession, type PlayBeacon, type PlaySignal, playStep } from '../src/play-beacons.ts';
import { fillMacros } from '../src/vast-macros.ts';

class MapStore implements KeyValueStore {
  m = new Map<string, string>();
  broken = false;
  getItem(k: string) {
    if (this.broken) throw new Error('SecurityError');
    return this.m.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    if (this.broken) throw new Error('QuotaExceededError');
    this.m.set(k, v);
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
}

function counterBytes() {
  let n = 0;
  return (len: number) => Uint8Array.from({ length: len }, () => n++ & 0xff);
}

const day = 86_400_000;
const idA = 'aa'.repeat(16);

describe('listener id', () => {
  it('goes with the VMAP request (relative and absolute), never invented when withheld', () => {
    const base = 'https://node.example/episodes/e1';
    const id = 'a'.repeat(32);
    expect(withListenerId('/ads/vmap?episode=e1', id, base)).toBe(`/ads/vmap?episode=e1&lid=${id}`);
    expect(withListenerId('https://ads.example/ads/vmap?episode=e%201', id, base)).toBe(
      `https://ads.example/ads/vmap?episode=e+1&lid=${id}`,
    );
    expect(withListenerId('//ads.example/ads/vmap?episode=e1', id, base)).toBe(
      `https://ads.example/ads/vmap?episode=e1&lid=${id}`,
    );
    // A page that put its own (stale) lid in the tag gets the player's.
    expect(withListenerId('/ads/vmap?episode=e1&lid=old', id, base)).toBe(`/ads/vmap?episode=e1&lid=${id}`);
    expect(withListenerId('/ads/vmap?episode=e1', null, base)).toBe('/ads/vmap?episode=e1');
  });

  it.each([
    [{ doNotTrack: '1' }, true],
    [{ globalPrivacyControl: true }, true],
    [{ doNotTrack: '0' }, false],
    [{ doNotTrack: 'unspecified', globalPrivacyControl: false }, false],
    [{}, false],
  ])('privacy %o withholds: %s', (p, want) => {
    expect(privacyWithholds(p)).toBe(want);
  });

  it.each([
    ['reuses a young id', `${idA}.${10 * day}`, 20 * day, idA],
    ['keeps it to the last millisecond of its UTC month', `${idA}.${10 * day}`, 31 * day - 1, idA],
    ['rotates at the first UTC month boundary (1 February)', `${idA}.${10 * day}`, 31 * day, 'new'],
    ['a record made 1 ms before the month began is replaced', `${idA}.${31 * day - 1}`, 31 * day, 'new'],
    ['a record from the same month a year earlier is replaced', `${idA}.${10 * day}`, 375 * day, 'new'],
    ['a record from the future is replaced', `${idA}.${50 * day}`, 20 * day, 'new'],
    ['a malformed record is replaced', 'hello', 20 * day, 'new'],
    ['no record gets a new id', null, 20 * day, 'new'],
  ])('%s', (_name, stored, now, want) => {
    const store = new MapStore();
    if (stored !== null) store.setItem(listenerIdKey, stored);
    const id = listenerId({}, store, now, counterBytes());
    const fresh = newListenerId(counterBytes());
    expect(id).toBe(want === 'new' ? fresh : want);
    expect(store.getItem(listenerIdKey)).toBe(want === 'new' ? `${fresh}.${now}` : stored);
  });

  it('DNT / GPC: no id at all, and a stored one is forgotten', () => {
    for (const p of [{ doNotTrack: '1' }, { globalPrivacyControl: true }]) {
      const store = new MapStore();
      store.setItem(listenerIdKey, `${idA}.${day}`);
      expect(listenerId(p, store, 2 * day, counterBytes())).toBeNull();
      expect(store.getItem(listenerIdKey)).toBeNull();
    }
  });

  it('broken storage still gives an id for the page', () => {
    const store = new MapStore();
    store.broken = true;
    expect(listenerId({}, store, day, counterBytes())).toMatch(/^[0-9a-f]{32}$/);
  });

  it('ids are 32 hex digits and differ with the random bytes', () => {
    const a = newListenerId(() => new Uint8Array(16));
    const b = newListenerId(() => new Uint8Array(16).fill(255));
    expect(a).toBe('0'.repeat(32));
    expect(b).toBe('f'.repeat(32));
  });
});

function runPlays(signals: PlaySignal[], intervalMs = 10_000): PlayBeacon[] {
  let s = newPlaySession('sess-1', 'ep-1', idA, intervalMs);
  const out: PlayBeacon[] = [];
  for (const sig of signals) {
    const r = playStep(s, sig);
    s = r.session;
    if (r.beacon) out.push(r.beacon);
  }
  return out;
}
const tu = (nowMs: number, positionMs: number): PlaySignal => ({
  type: 'timeupdate',
  nowMs,
  positionMs,
  durationMs: 60_000,
});

describe('play beacons', () => {
  it.each<[string, PlaySignal[], string[]]>([
    ['nothing before start', [tu(0, 0), { type: 'ended', nowMs: 1 }, { type: 'leave' }], []],
    [
      'start once',
      [{ type: 'playing', nowMs: 0 }, { type: 'pause' }, { type: 'playing', nowMs: 5 }],
      ['start'],
    ],
    [
      'progress every interval while playing',
      [
        { type: 'playing', nowMs: 0 },
        tu(5_000, 5_000),
        tu(10_000, 10_000),
        tu(15_000, 15_000),
        tu(20_000, 20_000),
      ],
      ['start', 'progress', 'progress'],
    ],
    [
      'no progress while paused',
      [{ type: 'playing', nowMs: 0 }, { type: 'pause' }, tu(30_000, 0)],
      ['start'],
    ],
    [
      'complete at the end, then nothing',
      [{ type: 'playing', nowMs: 0 }, { type: 'ended', nowMs: 60_000 }, { type: 'leave' }, tu(90_000, 0)],
      ['start', 'complete'],
    ],
    [
      'stop when leaving after start',
      [{ type: 'playing', nowMs: 0 }, { type: 'leave' }, { type: 'ended', nowMs: 1 }],
      ['start', 'stop'],
    ],
  ])('%s', (_name, signals, want) => {
    expect(runPlays(signals).map((b) => b.event)).toEqual(want);
  });

  it('seq increases by one, listening excludes seeks, bytes are cumulative', () => {
    const b = runPlays([
      { type: 'playing', nowMs: 0 },
      tu(1_000, 1_000),
      tu(2_000, 2_000),
      tu(2_500, 40_000), // a seek: not listening
      tu(3_500, 41_000),
      { type: 'bytes', fromPeers: 700, fromWebSeed: 300 },
      tu(10_000, 42_000),
      { type: 'bytes', fromPeers: 500, fromWebSeed: 900 }, // counters never go back
      { type: 'ended', nowMs: 20_000 },
    ]);
    expect(b.map((x) => x.seq)).toEqual([0, 1, 2]);
    expect(b[1]).toMatchObject({
      event: 'progress',
      positionMs: 42_000,
      listenedMs: 4_000,
      bytesFromPeers: 700,
      bytesFromWebSeed: 300,
    });
    expect(b[2]).toMatchObject({
      event: 'complete',
      positionMs: 60_000,
      durationMs: 60_000,
      bytesFromPeers: 700,
      bytesFromWebSeed: 900,
    });
  });

  it('carries how the page could meet peers once the engine tells it', () => {
    const b = runPlays([
      { type: 'playing', nowMs: 0 },
      { type: 'bytes', fromPeers: 0, fromWebSeed: 500, peerMode: 'relay' },
      { type: 'ended', nowMs: 20_000 },
    ]);
    expect(b[0]?.peerMode).toBeUndefined();
    expect(b[1]).toMatchObject({
      event: 'complete',
      peerMode: 'relay',
      bytesFromPeers: 0,
      bytesFromWebSeed: 500,
    });
  });

  it('every beacon is accepted by the collector parser as sent', () => {
    const all = runPlays([
      { type: 'playing', nowMs: 0 },
      { type: 'timeupdate', nowMs: 10_000, positionMs: 1234.56, durationMs: 60_000.4 },
      { type: 'bytes', fromPeers: 12.7, fromWebSeed: Number.NaN, peerMode: 'share' },
      { type: 'leave' },
    ]);
    expect(all).toHaveLength(3);
    for (const b of all)
      expect(parsePlayBeacon(JSON.parse(JSON.stringify(b)))).toEqual({ ok: true, value: b });
    const anon = playStep(newPlaySession('s', 'e', null), { type: 'playing', nowMs: 0 }).beacon;
    expect(parsePlayBeacon(JSON.parse(JSON.stringify(anon)))).toMatchObject({
      ok: true,
      value: { listenerId: null },
    });
  });

  it('filled ad tracking macros parse back in the collector', () => {
    const tpl = '/beacon/ad/start?t=a.b&ts=[TIMESTAMP]&ah=[ADPLAYHEAD]&cb=[CACHEBUSTING]';
    const url = new URL(
      fillMacros(tpl, {
        nowMs: 1_700_000_000_123,
        adPlayheadMs: 12_345,
        mediaPlayheadMs: null,
        cacheBusting: '12345678',
        errorCode: null,
        breakPosition: 1,
      }),
      'http://x',
    );
    const r = parseAdBeacon('start', Object.fromEntries(url.searchParams));
    expect(r).toMatchObject({ ok: true, value: { adPlayheadMs: 12_345, cacheBuster: '12345678' } });
  });
});

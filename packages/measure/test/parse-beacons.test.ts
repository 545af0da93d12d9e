import { describe, expect, it } from 'vitest';
import { parseAdBeacon, parseMs, parsePlayBeacon } from '../src/collect/parse-beacons.ts';
import { prng } from './support/prng.ts';

const good = {
  v: 1,
  sessionId: 'abc-123',
  seq: 0,
  listenerId: null,
  episodeId: 'ep1',
  event: 'start',
  positionMs: 0,
  durationMs: 1000,
  listenedMs: 0,
  bytesFromPeers: 0,
  bytesFromWebSeed: 0,
};

describe('parseAdBeacon', () => {
  it('parses the VAST macros of the tracking contract', () => {
    expect(
      parseAdBeacon('progress', {
        t: 'a.b',
        ts: '2026-11-04T09:00:00Z',
        ah: '00:00:12.500',
        o: '10000',
        cb: '42',
      }),
    ).toEqual({
      ok: true,
      value: {
        event: 'progress',
        token: 'a.b',
        ts: '2026-11-04T09:00:00Z',
        adPlayheadMs: 12_500,
        offsetMs: 10_000,
        errorCode: null,
        cacheBuster: '42',
      },
    });
  });
  it.each([
    ['bogus', { t: 'x' }, 'unknown-event'],
    ['__proto__', { t: 'x' }, 'unknown-event'],
    ['start', {}, 'no-token'],
    ['start', { t: 'x'.repeat(5000) }, 'oversized'],
    ['start', { t: ['a', 'b'] }, 'oversized'],
    ['start', { t: 'x', cb: ['1', '2'] }, 'malformed'],
    ['start', { t: 'x', ah: 'y'.repeat(100) }, 'malformed'],
    ['start', null, 'malformed'],
  ])('rejects %s %j as %s', (event, query, reason) => {
    expect(parseAdBeacon(event, query)).toEqual({ ok: false, reason });
  });
  it('unparseable macros become null rather than garbage', () => {
    const r = parseAdBeacon('error', { t: 'x', ah: '[ADPLAYHEAD]', code: '[ERRORCODE]' });
    expect(r).toMatchObject({ ok: true, value: { adPlayheadMs: null, errorCode: null } });
    for (const cb of ['[CACHEBUSTING]', '-1', '-2', ''])
      expect(parseAdBeacon('start', { t: 'x', cb })).toMatchObject({
        ok: true,
        value: { cacheBuster: null },
      });
    expect(parseMs('99:99:99')).toBeNull();
    expect(parseMs('01:00:00')).toBe(3_600_000);
  });
});

describe('parsePlayBeacon', () => {
  it('accepts the documented schema', () => {
    expect(parsePlayBeacon(good)).toEqual({ ok: true, value: good });
    for (const peerMode of ['share', 'relay', 'off', 'none'])
      expect(parsePlayBeacon({ ...good, peerMode })).toEqual({ ok: true, value: { ...good, peerMode } });
  });
  it.each([
    ['an array', []],
    ['a string', 'x'],
    ['version 2', { ...good, v: 2 }],
    ['a negative position', { ...good, positionMs: -1 }],
    ['a float byte count', { ...good, bytesFromPeers: 1.5 }],
    ['a huge seq', { ...good, seq: 1e9 }],
    ['an odd session id', { ...good, sessionId: '<script>' }],
    ['a long episode id', { ...good, episodeId: 'e'.repeat(200) }],
    ['an unknown event', { ...good, event: 'pwn' }],
    ['a numeric listener id', { ...good, listenerId: 5 }],
    ['an unknown peer mode', { ...good, peerMode: 'everyone' }],
    ['a null peer mode', { ...good, peerMode: null }],
  ])('rejects %s', (_what, body) => {
    expect(parsePlayBeacon(body).ok).toBe(false);
  });
  it('fuzz: random mutations never throw and never yield an out-of-range value', () => {
    const seed = Number(process.env.FUZZ_SEED ?? 1234);
    const rnd = prng(seed);
    const values = [null, -1, 0, 1, 2 ** 53, 1e300, Number.NaN, '', 'x', 'ep1', [], {}, true, '0'];
    const keys = Object.keys(good);
    for (let i = 0; i < 5000; i++) {
      const body: Record<string, unknown> = { ...good };
      for (let m = 0; m < 1 + Math.floor(rnd() * 3); m++) {
        body[keys[Math.floor(rnd() * keys.length)]!] = values[Math.floor(rnd() * values.length)];
      }
      let r: ReturnType<typeof parsePlayBeacon>;
      try {
        r = parsePlayBeacon(body);
      } catch (e) {
        throw new Error(`seed ${seed} iteration ${i}: threw ${e}`);
      }
      if (r.ok) {
        for (const k of [
          'seq',
          'positionMs',
          'durationMs',
          'listenedMs',
          'bytesFromPeers',
          'bytesFromWebSeed',
        ] as const) {
          expect(
            Number.isSafeInteger(r.value[k]) && r.value[k] >= 0,
            `seed ${seed} iteration ${i} ${k}`,
          ).toBe(true);
        }
      }
    }
  });
});

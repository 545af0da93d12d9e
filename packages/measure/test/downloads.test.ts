import { classifyUserAgent } from '@swarmcast/platform';
import { describe, expect, it } from 'vitest';
import { coveredBytes, mergeRanges } from '../src/rules/byte-coverage.ts';
import { countDownloads, isRangeProbe, torrentCompletions } from '../src/rules/downloads.ts';
import { downloadThreshold } from '../src/rules/episode-media.ts';
import { countedTimes } from '../src/rules/windows.ts';
import { announce, dl, ep1, key, listener, range } from './support/facts.ts';

const t0 = Date.UTC(2026, 10, 2, 22, 0); // Monday 22:00 UTC
const min = 60_000;
const hour = 60 * min;
const count = (
  downloads: Parameters<typeof dl>[0][] | ReturnType<typeof dl>[],
  announces = [] as ReturnType<typeof announce>[],
) => countDownloads({ downloads: downloads as ReturnType<typeof dl>[], announces, episodes: [ep1] });

describe('byte coverage', () => {
  it('merges overlapping, adjacent and out-of-order ranges', () => {
    expect(
      mergeRanges([
        [10, 19],
        [0, 4],
        [5, 9],
        [30, 40],
        [35, 36],
      ]),
    ).toEqual([
      [0, 19],
      [30, 40],
    ]);
    expect(
      coveredBytes([
        [0, 99],
        [50, 149],
        [0, 99],
      ]),
    ).toBe(150);
    expect(coveredBytes([[5, 4]])).toBe(0);
  });
});

describe('threshold (IAB 5.5.3)', () => {
  it('is header bytes + one minute of media at the average bitrate', () => {
    expect(downloadThreshold(ep1)).toBe(100_000 + 590_000);
  });
  it('is the whole file when the episode is one minute or shorter', () => {
    expect(downloadThreshold({ fileSize: 500_000, headerBytes: 1000, durationMs: 60_000 })).toBe(500_000);
  });
});

describe("windows (IAB 5.5.1, the guidelines' own example)", () => {
  const mon22 = t0;
  const tue03 = t0 + 5 * hour;
  const tue2215 = t0 + 24 * hour + 15 * min;
  const wed2315 = t0 + 49 * hour + 15 * min;
  const times = [mon22, tue03, tue2215, wed2315];
  it.each([
    ['calendar', [mon22, tue03, wed2315]],
    ['firstTouch', [mon22, tue2215, wed2315]],
    ['lastTouch', [mon22, wed2315]],
  ] as const)('%s', (kind, expected) => {
    expect(countedTimes(times, kind)).toEqual(expected);
  });
});

describe('countDownloads: one test per rule', () => {
  it('a complete 200 GET counts once in every window', () => {
    const r = count([dl({ time: t0 })]);
    expect(r.counted.calendar).toHaveLength(1);
    expect(r.counted.firstTouch).toHaveLength(1);
    expect(r.counted.lastTouch).toHaveLength(1);
  });
  it('1.2.5 bots are filtered with their reason', () => {
    const r = count([dl({ time: t0, client: { ...listener, bot: true } })]);
    expect(r.counted.calendar).toHaveLength(0);
    expect(r.filtered.bot).toBe(1);
  });
  it('1.2.2 data-centre addresses are filtered', () => {
    const r = count([dl({ time: t0, datacenter: true })], [announce({ time: t0, datacenter: true })]);
    expect(r.counted.calendar).toHaveLength(0);
    expect(r.filtered.datacenter).toBe(2);
  });
  it('1.2 note: a known safe address is counted although it is in a data-centre range', () => {
    const r = count(
      [dl({ time: t0, datacenter: true, safe: true })],
      [announce({ time: t0 + 2 * hour, datacenter: true, safe: true, audienceKey: key('other') })],
    );
    expect(r.counted.calendar).toHaveLength(2);
    expect(r.filtered.datacenter).toBe(0);
  });
  it('1.2.3 malformed referrers and excluded referrer sources are filtered; none or valid are kept', () => {
    const r = count([
      dl({ time: t0, referrer: 'malformed', audienceKey: key('a') }),
      dl({ time: t0, referrer: 'excluded', audienceKey: key('b') }),
      dl({ time: t0, referrer: 'valid', audienceKey: key('c') }),
      dl({ time: t0, referrer: 'none', audienceKey: key('d') }),
      dl({ time: t0, audienceKey: key('e') }),
    ]);
    expect(r.filtered.referrer).toBe(2);
    expect(r.counted.calendar.map((q) => q.audienceKey).sort()).toEqual(['c', 'd', 'e']);
  });
  it('1.3.1 HEAD requests are filtered', () => {
    const r = count([dl({ time: t0, method: 'HEAD', bytesSent: 0, rangeStart: null, rangeEnd: null })]);
    expect(r.filtered.head).toBe(1);
    expect(r.counted.calendar).toHaveLength(0);
  });
  it('1.3.2c 304 answers are filtered', () => {
    const r = count([dl({ time: t0, status: 304, bytesSent: 0, rangeStart: null, rangeEnd: null })]);
    expect(r.filtered['not-modified']).toBe(1);
  });
  it('other statuses deliver nothing', () => {
    const r = count([dl({ time: t0, status: 404, bytesSent: 0, rangeStart: null, rangeEnd: null })]);
    expect(r.filtered.status).toBe(1);
  });
  it('1.2.6 bytes=0-1 probes are disregarded and do not add coverage', () => {
    expect(isRangeProbe({ rangeHeader: 'bytes=0-1', rangeStart: 0, rangeEnd: 1 })).toBe(true);
    expect(isRangeProbe({ rangeHeader: 'bytes=0-', rangeStart: 0, rangeEnd: 5_999_999 })).toBe(false);
    const r = count([range(0, 1, t0)]);
    expect(r.filtered.probe).toBe(1);
    expect(r.counted.calendar).toHaveLength(0);
  });
  it('1.2.7 Apple Watch duplicates are filtered as apple-watch (not bot); standalone watch downloads count', () => {
    const paired = classifyUserAgent(
      'atc/1.0 watchOS/10.2 model/Watch6,1 hwp/t8301 build/21S364 (6; dt:226)',
    );
    const nulls = classifyUserAgent(
      '(null)/(null) watchOS/7.6.1 model/Watch5,9 hwp/t8006 build/18U70 (6; dt:204)',
    );
    // Even if a bot list had matched it first, the reason is apple-watch.
    const r = count([
      dl({ time: t0, client: paired }),
      dl({ time: t0 + 1, client: { ...nulls, bot: true } }),
      dl({
        time: t0 + 2,
        audienceKey: 'k-standalone' as never,
        client: classifyUserAgent('Watch/1140 CFNetwork/3860.200.71 Darwin/25.1.0'),
      }),
    ]);
    expect(r.filtered['apple-watch']).toBe(2);
    expect(r.filtered.bot).toBe(0);
    expect(r.counted.calendar).toHaveLength(1);
  });
  it('requests for unpublished files are not downloads', () => {
    const r = count([dl({ time: t0, path: 'other.mp3' })]);
    expect(r.filtered['unknown-episode']).toBe(1);
  });
  it('5.5.3 ranges below header + one minute do not count', () => {
    const r = count([range(0, 689_998, t0)]);
    expect(r.counted.calendar).toHaveLength(0);
    expect(r.filtered['below-threshold']).toBe(1);
  });
  it('1.3.2b ranges are reassembled per key: distinct bytes reaching the threshold count once', () => {
    const r = count([
      range(0, 399_999, t0),
      range(200_000, 599_999, t0 + min),
      range(600_000, 689_999, t0 + 2 * min),
    ]);
    expect(r.counted.calendar).toHaveLength(1);
    expect(r.counted.calendar[0]?.time).toBe(t0 + 2 * min);
  });
  it('overlapping ranges are not summed (the Castopod mistake)', () => {
    const r = count([
      range(0, 399_999, t0),
      range(0, 399_999, t0 + min),
      range(100_000, 499_999, t0 + 2 * min),
    ]);
    expect(r.counted.calendar).toHaveLength(0);
  });
  it('only bytes actually sent count toward coverage', () => {
    const r = count([range(0, 5_999_999, t0, { bytesSent: 1000 })]);
    expect(r.counted.calendar).toHaveLength(0);
  });
  it('ranges from different keys are not combined', () => {
    const r = count([range(0, 399_999, t0), range(400_000, 799_999, t0 + min, { audienceKey: key('k2') })]);
    expect(r.counted.calendar).toHaveLength(0);
  });
  it('coverage older than the window starts afresh', () => {
    const r = count([range(0, 399_999, t0), range(400_000, 799_999, t0 + 25 * hour)]);
    expect(r.counted.calendar).toHaveLength(0);
    expect(r.filtered['below-threshold']).toBe(2);
  });
  it('5.5.4 uniques: one key re-downloading within the window counts once; another key counts', () => {
    const r = count([
      dl({ time: t0 }),
      dl({ time: t0 + hour }),
      dl({ time: t0 + hour, audienceKey: key('k2') }),
    ]);
    expect(r.counted.firstTouch).toHaveLength(2);
  });
  it('a completed torrent counts like a complete download and dedupes with HTTP for the same key', () => {
    const r = count(
      [dl({ time: t0 })],
      [announce({ time: t0 + min }), announce({ time: t0, audienceKey: key('k9') })],
    );
    expect(r.counted.firstTouch.map((q) => q.source).sort()).toEqual(['http', 'torrent']);
    expect(r.counted.firstTouch).toHaveLength(2);
  });
  it('torrent announces other than completed are not downloads', () => {
    const r = count(
      [],
      [announce({ time: t0, event: 'started', left: 100 }), announce({ time: t0, event: 'update' })],
    );
    expect(r.counted.calendar).toHaveLength(0);
  });
  it('BEP 3: a stopped with left = 0 from a key that was downloading is a completion (aria2 never sends completed)', () => {
    const size = ep1.fileSize;
    // aria2c 1.36 on the v1 companion: started, started again, stopped with nothing left.
    const aria = [
      announce({ time: t0, event: 'started', left: size, audienceKey: key('aria') }),
      announce({ time: t0 + 1000, event: 'started', left: size, audienceKey: key('aria') }),
      announce({
        time: t0 + 2000,
        event: 'stopped',
        left: 0,
        downloadedDelta: size,
        audienceKey: key('aria'),
      }),
    ];
    // A seeder that started complete: nothing downloaded, never a download.
    const seeder = [
      announce({ time: t0, event: 'started', left: 0, audienceKey: key('seed') }),
      announce({ time: t0 + 3000, event: 'stopped', left: 0, audienceKey: key('seed') }),
    ];
    // A client that gave up half-way.
    const quitter = [
      announce({ time: t0, event: 'started', left: size, audienceKey: key('quit') }),
      announce({
        time: t0 + 3000,
        event: 'stopped',
        left: size / 2,
        downloadedDelta: size / 2,
        audienceKey: key('quit'),
      }),
    ];
    // qBittorrent: completed, then the same session's stopped: one completion.
    const qbt = [
      announce({ time: t0, event: 'started', left: size, audienceKey: key('qbt') }),
      announce({
        time: t0 + 1000,
        event: 'completed',
        left: 0,
        downloadedDelta: size,
        audienceKey: key('qbt'),
      }),
      announce({ time: t0 + 2000, event: 'stopped', left: 0, audienceKey: key('qbt') }),
    ];
    const all = [...aria, ...seeder, ...quitter, ...qbt];
    expect(torrentCompletions(all).map((a) => [a.audienceKey, a.event])).toEqual([
      ['qbt', 'completed'],
      ['aria', 'stopped'],
    ]);
    const r = count([], all);
    expect(r.counted.calendar.map((q) => [q.audienceKey, q.source]).sort()).toEqual([
      ['aria', 'torrent'],
      ['qbt', 'torrent'],
    ]);
    // A stopped with left = 0 whose started is not among the facts still shows downloaded bytes.
    expect(torrentCompletions([aria[2]!])).toHaveLength(1);
    expect(torrentCompletions([seeder[1]!])).toHaveLength(0);
  });
  it('1.2.1 a key with an abnormal number of downloads in a day is removed', () => {
    const eps = Array.from({ length: 61 }, (_, i) => ({
      ...ep1,
      episodeId: `e${i}`,
      path: `p${i}`,
      infoHash: null,
    }));
    const downloads = eps.map((e, i) => dl({ time: t0 - hour + i, path: e.path }));
    const r = countDownloads({ downloads, announces: [], episodes: eps });
    expect(r.counted.calendar).toHaveLength(0);
    expect(r.filtered.rate).toBe(61);
    const ok = countDownloads({ downloads: downloads.slice(0, 60), announces: [], episodes: eps });
    expect(ok.counted.calendar).toHaveLength(60);
    // 5.5.4: a known safe address (a dorm behind one address) is exempt from the rate rule.
    const dorm = countDownloads({
      downloads: downloads.map((d) => ({ ...d, safe: true })),
      announces: [],
      episodes: eps,
    });
    expect(dorm.counted.calendar).toHaveLength(61);
    expect(dorm.filtered.rate).toBe(0);
  });
});

import type { AudienceKey } from '@swarmcast/platform';
import { describe, expect, it } from 'vitest';
import { buildAdvertiserReport } from '../src/reports/advertiser-report.ts';
import { audienceCsv, buildAudience, buildPlayAudience, playAudienceCsv } from '../src/reports/audience.ts';
import { buildCreatorReport } from '../src/reports/creator-report.ts';
import { advertiserCsv, creatorCsv } from '../src/reports/csv.ts';
import type { AdEventRow } from '../src/rules/ad-metrics.ts';
import { countDownloads } from '../src/rules/downloads.ts';
import type { PlayRow } from '../src/rules/play-metrics.ts';
import { suppress, suppressComplements } from '../src/rules/suppress.ts';
import { announce, dl, ep1 } from './support/facts.ts';

/**
 * Every cell of every report shape and CSV that counts people goes through `suppress`
 * (rules/suppress.ts). The walk below visits every number in the reports; a number is a
 * people cell unless its path is one of the listed exemptions (money and the quantities
 * money is computed from, the ad server's inventory, the operator's filter counts, times).
 * A new field is a people cell until someone decides otherwise here.
 */
const exempt: RegExp[] = [
  /^period\.(from|to)$/,
  /^k$/,
  /^episodeId$/, // the audience breakdown's episode filter (null: all episodes)
  /(^|\.)day$/, // the start of a UTC day, ms
  /(^|\.)revenueMicros$/,
  /^episodes\.\d+\.revenueByDay\.\d+\.micros$/,
  /(^|\.)spendMicros$/,
  /^campaigns\.\d+\.spendByDay\.\d+\.micros$/,
  // What the advertiser is billed on and audits (IAB v2.3 6.3): counted ad events and their ratios.
  /^(episodes\.\d+\.ads|campaigns\.\d+\.delivery)\.(impressions|starts|firstQuartile|midpoint|thirdQuartile|complete|completionRate|clicks|ivtShare)$/,
  /^(episodes\.\d+\.ads|campaigns\.\d+\.delivery)\.invalidByReason\.[\w-]+$/,
  /^campaigns\.\d+\.impressionsByDay\.\d+\.impressions$/,
  /^totals\.(impressions|ivtShare)$/,
  // The ad server's inventory per break: requests and fills, not listeners.
  /^episodes\.\d+\.fill\.\d+\.(slots|filled|fillRate|deliveredRate)$/,
  // The operator's counts of what was left out, by reason (IAB 5.5.2 asks for them).
  /^(filtered|invalidPlays)\.[\w-]+$/,
];

function numbers(v: unknown, path = '', out = new Map<string, number | null>()): Map<string, number | null> {
  if (v === null) out.set(path, null);
  else if (typeof v === 'number') out.set(path, v);
  else if (typeof v === 'object') {
    // Arrays too: their entries are named by index.
    for (const [f, x] of Object.entries(v as object)) numbers(x, path ? `${path}.${f}` : f, out);
  }
  return out;
}

const peopleCells = (report: unknown) =>
  new Map([...numbers(report)].filter(([p]) => !exempt.some((re) => re.test(p))));

const day = Date.UTC(2026, 11, 2);
const at = (h: number, m = 0) => day + (h * 60 + m) * 60_000;

/**
 * `n` people, each doing everything a report counts: a whole-file download, a torrent that
 * starts and completes (a leecher then a seeder that day), a play from peers and the web
 * seed in the Swarmcast player, and an ad heard to the end.
 */
function world(n: number) {
  const who = Array.from({ length: n }, (_, i) => `p${i}` as AudienceKey);
  const downloads = who.map((k, i) => dl({ time: at(8, i), audienceKey: k }));
  const announces = who.flatMap((k, i) => [
    announce({ time: at(9, i), audienceKey: k, event: 'started', left: ep1.fileSize }),
    announce({ time: at(10, i), audienceKey: k, event: 'completed', left: 0, downloadedDelta: ep1.fileSize }),
  ]);
  const plays: PlayRow[] = who.map((k, i) => ({
    sessionId: `s${i}`,
    episodeId: ep1.episodeId,
    audienceKey: k,
    listenerId: `l${i}`,
    startedAt: at(11, i),
    maxPositionMs: ep1.durationMs,
    durationMs: ep1.durationMs,
    completed: true,
    bytesFromPeers: 4_000_000,
    bytesFromWebSeed: 2_000_000,
    peerMode: 'share',
    invalid: null,
    client: { app: 'Swarmcast Player', device: 'computer', os: 'Linux' },
  }));
  const adEvents: AdEventRow[] = who.flatMap((k, i) =>
    (['impression', 'start', 'firstQuartile', 'midpoint', 'thirdQuartile', 'complete'] as const).map(
      (event, j) => ({
        eventId: `e${i}-${j}`,
        decisionId: `d${i}`,
        event,
        reason: null,
        receivedAt: at(11, i),
        audienceKey: k,
        listenerId: `l${i}`,
        campaignId: 'camp',
        lineItemId: 'li',
        adId: 'ad',
        breakId: 'pre',
        episodeId: ep1.episodeId,
        decisionInvalid: false,
      }),
    ),
  );
  const creator = buildCreatorReport({
    creatorId: 'creator',
    period: { from: day, to: day + 86_400_000 },
    window: 'calendar',
    episodes: [{ ...ep1, title: 'Episode' }],
    downloads,
    announces,
    plays,
    adEvents,
    opportunities: who.map(() => ({ breakId: 'pre', episodeId: ep1.episodeId, slots: 1, filled: 1 })),
    revenue: [{ group: ep1.episodeId, day: day / 86_400_000, micros: n * 17_500 }],
  });
  const advertiser = buildAdvertiserReport({
    advertiserId: 'adv',
    period: { from: day, to: day + 86_400_000 },
    adEvents,
    spend: [{ group: 'camp', day: day / 86_400_000, micros: -n * 25_000 }],
  });
  const counted = countDownloads({ downloads, announces, episodes: [ep1] }).counted.calendar;
  const audience = buildAudience({
    creatorId: 'creator',
    episodeId: null,
    period: { from: day, to: day + 86_400_000 },
    window: 'calendar',
    downloads: counted,
  });
  const playAudience = buildPlayAudience({
    creatorId: 'creator',
    episodeId: null,
    period: { from: day, to: day + 86_400_000 },
    plays,
  });
  return { creator, advertiser, audience, playAudience };
}

/** The CSV as rows of named cells. */
function csvTable(csv: string): Record<string, string>[] {
  const [head, ...rows] = csv
    .trimEnd()
    .split('\r\n')
    .map((l) => l.split(','));
  return rows.map((r) => Object.fromEntries(head!.map((h, i) => [h, r[i] ?? ''])));
}
const csvPeopleColumns = [
  'downloads_calendar',
  'plays',
  'listeners',
  'bytes_from_peers',
  'bytes_from_web_seed',
  'seeders',
  'leechers',
];

describe('audience breakdowns (downloads by app, device, OS, country, hour)', () => {
  it('counts each value and hides the values fewer than five people stand behind, and one more beside them', () => {
    const t = Date.UTC(2026, 11, 2, 8, 30);
    const overcast = { app: 'Overcast', device: 'phone', os: 'iOS', bot: false };
    const pocket = { app: 'Pocket Casts', device: 'phone', os: 'Android', bot: false };
    const apple = { app: 'Apple Podcasts', device: 'phone', os: 'iOS', bot: false };
    const downloads = [
      ...Array.from({ length: 6 }, (_, i) =>
        dl({ time: t + i * 60_000, audienceKey: `o${i}` as AudienceKey, client: overcast, country: 'DE' }),
      ),
      ...Array.from({ length: 7 }, (_, i) =>
        dl({ time: t + 10 * 60_000 + i, audienceKey: `p${i}` as AudienceKey, client: pocket, country: 'DE' }),
      ),
      ...Array.from({ length: 2 }, (_, i) =>
        dl({ time: t + 3_600_000 + i, audienceKey: `a${i}` as AudienceKey, client: apple, country: 'FR' }),
      ),
      // One listener fetching twice in the day: counted once (calendar window).
      dl({ time: t + 7_200_000, audienceKey: 'o0' as AudienceKey, client: overcast, country: 'DE' }),
    ];
    const counted = countDownloads({ downloads, announces: [], episodes: [ep1] }).counted.calendar;
    const a = buildAudience({
      creatorId: 'creator',
      episodeId: null,
      period: { from: day, to: day + 86_400_000 },
      window: 'calendar',
      downloads: counted,
    });
    expect(a.total).toBe(15);
    // Apple's 2 are hidden; Overcast's 6 too, else 15 - 7 - 6 would give Apple's 2 away.
    expect(a.by.app).toEqual([
      { value: 'Pocket Casts', downloads: 7 },
      { value: 'Apple Podcasts', downloads: null },
      { value: 'Overcast', downloads: null },
    ]);
    expect(a.by.device).toEqual([{ value: 'phone', downloads: 15 }]);
    // iOS 8 and Android 7: nothing small, nothing hidden.
    expect(a.by.os).toEqual([
      { value: 'iOS', downloads: 8 },
      { value: 'Android', downloads: 7 },
    ]);
    // FR (2) hidden and DE (13), the only other value, with it.
    expect(a.by.country).toEqual([
      { value: 'DE', downloads: null },
      { value: 'FR', downloads: null },
    ]);
    expect(a.by.hour).toEqual([
      { value: '08', downloads: null },
      { value: '09', downloads: null },
    ]);
  });
});

describe('plays in the Swarmcast player by app, device class and OS', () => {
  it('counts valid plays per value, one person once, and hides small values and one beside them', () => {
    const row = (i: number, client: PlayRow['client'], over: Partial<PlayRow> = {}): PlayRow => ({
      sessionId: `s${i}`,
      episodeId: ep1.episodeId,
      audienceKey: `k${i}` as AudienceKey,
      listenerId: `l${i}`,
      startedAt: day + i * 60_000,
      maxPositionMs: 60_000,
      durationMs: ep1.durationMs,
      completed: false,
      bytesFromPeers: 0,
      bytesFromWebSeed: 0,
      invalid: null,
      client,
      ...over,
    });
    const chrome = { app: 'Swarmcast Player', device: 'computer', os: 'Windows' };
    const phone = { app: 'Swarmcast Player', device: 'phone', os: 'Android' };
    const tablet = { app: 'Swarmcast Player', device: 'tablet', os: 'iPadOS' };
    const plays = [
      ...Array.from({ length: 6 }, (_, i) => row(i, chrome)),
      ...Array.from({ length: 7 }, (_, i) =>
        row(10 + i, phone, { country: 'DE', startedAt: day + 3_600_000 + i }),
      ),
      ...Array.from({ length: 2 }, (_, i) => row(20 + i, tablet)),
      // One listener's second play: counted, one person.
      row(30, chrome, { listenerId: 'l0' }),
      // Invalid plays (a bot, a too-fast one) are not plays; a row stored before classes: unknown.
      row(40, chrome, { invalid: 'bot' }),
      row(41, phone, { invalid: 'too-fast' }),
    ];
    const a = buildPlayAudience({
      creatorId: 'creator',
      episodeId: null,
      period: { from: day, to: day + 86_400_000 },
      plays,
    });
    expect(a.total).toBe(16);
    expect(a.by.app).toEqual([{ value: 'Swarmcast Player', plays: 16 }]);
    // The tablet's 2 hidden; the computers' 7 with them (16 - 7 - 7 would give 2 away).
    expect(a.by.device).toEqual([
      { value: 'phone', plays: 7 },
      { value: 'computer', plays: null },
      { value: 'tablet', plays: null },
    ]);
    expect(a.by.os).toEqual([
      { value: 'Android', plays: 7 },
      { value: 'iPadOS', plays: null },
      { value: 'Windows', plays: null },
    ]);
    // Country from the trusted proxy (unknown without), hour the play started.
    expect(a.by.country).toEqual([
      { value: 'unknown', plays: 9 },
      { value: 'DE', plays: 7 },
    ]);
    expect(a.by.hour).toEqual([
      { value: '00', plays: 9 },
      { value: '01', plays: 7 },
    ]);
    const old = buildPlayAudience({
      creatorId: 'creator',
      episodeId: null,
      period: { from: day, to: day + 86_400_000 },
      plays: Array.from({ length: 5 }, (_, i) => row(50 + i, null)),
    });
    expect(old.by.os).toEqual([{ value: 'unknown', plays: 5 }]);
  });
});

describe('complementary suppression: no hidden cell comes back by arithmetic', () => {
  it('a total and its visible parts never leave one part hidden alone', () => {
    const total = { v: 20 as number | null };
    const parts = [{ v: 2 as number | null }, { v: 8 as number | null }, { v: 10 as number | null }];
    parts[0]!.v = null; // hidden by suppress
    const hid = suppressComplements([
      { total: { holder: total, field: 'v' }, parts: parts.map((p) => ({ holder: p, field: 'v' })) },
    ]);
    expect(hid).toBe(1);
    expect(parts.map((p) => p.v)).toEqual([null, null, 10]); // the smallest visible one
    expect(total.v).toBe(20);
  });

  it('sums that pin a cell down together (each with two hidden) get one more cell hidden', () => {
    // a + b = X, b + c = Y, a + c = Z: with a, b, c hidden, a = (X - Y + Z) / 2.
    const c = { a: null, b: null, c: null, X: 7, Y: 9, Z: 8 } as Record<string, number | null>;
    const r = (field: string) => ({ holder: c, field });
    const sums = [
      { total: r('X'), parts: [r('a'), r('b')] },
      { total: r('Y'), parts: [r('b'), r('c')] },
      { total: r('Z'), parts: [r('a'), r('c')] },
    ];
    expect(suppressComplements(sums)).toBeGreaterThanOrEqual(1);
    expect([c.X, c.Y, c.Z].filter((v) => v === null).length).toBeGreaterThanOrEqual(1);
  });

  it('cells that give each other away are hidden together', () => {
    const day1 = {
      peers: null as number | null,
      webSeed: null as number | null,
      share: null as number | null,
    };
    const day2 = { peers: 600 as number | null, webSeed: 400 as number | null, share: 0.6 as number | null };
    const all = { peers: 900 as number | null, webSeed: 500 as number | null, share: 0.64 as number | null };
    const ref = (h: typeof day1, f: 'peers' | 'webSeed') => ({
      holder: h,
      field: f,
      with: [
        { holder: h, field: f === 'peers' ? 'webSeed' : 'peers' },
        { holder: h, field: 'share' },
      ],
    });
    suppressComplements(
      (['peers', 'webSeed'] as const).map((f) => ({
        total: ref(all, f),
        parts: [ref(day1, f), ref(day2, f)],
      })),
    );
    expect(day2).toEqual({ peers: null, webSeed: null, share: null });
    expect(all.peers).toBe(900);
  });

  it('walks every report shape: no checkable sum has exactly one hidden member, with mixed small and big cells', () => {
    const d1 = day;
    const d2 = day + 86_400_000;
    const epA = {
      ...ep1,
      episodeId: 'a',
      showId: 'S',
      path: 'S/a.mp3',
      infoHash: 'a'.repeat(40),
      title: 'A',
    };
    const epB = {
      ...ep1,
      episodeId: 'b',
      showId: 'S',
      path: 'S/b.mp3',
      infoHash: 'b'.repeat(40),
      title: 'B',
    };
    const epC = {
      ...ep1,
      episodeId: 'c',
      showId: 'T',
      path: 'T/c.mp3',
      infoHash: 'c'.repeat(40),
      title: 'C',
    };
    // People per episode and day: small cells (<5) beside big ones.
    const plan: [typeof epA, number, number][] = [
      [epA, d1, 3],
      [epA, d2, 6],
      [epB, d1, 7],
      [epB, d2, 8],
      [epC, d1, 9],
      [epC, d2, 2],
    ];
    let n = 0;
    const downloads = plan.flatMap(([e, d, people]) =>
      Array.from({ length: people }, () =>
        dl({ time: d + 3_600_000, audienceKey: `k${n++}` as AudienceKey, path: e.path }),
      ),
    );
    const plays: PlayRow[] = plan.flatMap(([e, d, people]) =>
      Array.from({ length: people }, (): PlayRow => {
        const i = n++;
        return {
          sessionId: `s${i}`,
          episodeId: e.episodeId,
          audienceKey: `k${i}` as AudienceKey,
          listenerId: `l${i}`,
          startedAt: d + 7_200_000,
          maxPositionMs: e.durationMs,
          durationMs: e.durationMs,
          completed: true,
          bytesFromPeers: 1_000_000,
          bytesFromWebSeed: 500_000,
          peerMode: 'share',
          invalid: null,
        };
      }),
    );
    const r = buildCreatorReport({
      creatorId: 'creator',
      period: { from: d1, to: d2 + 86_400_000 },
      window: 'calendar',
      episodes: [epA, epB, epC],
      downloads,
      announces: [],
      plays,
      adEvents: [],
      opportunities: [],
      revenue: [],
    });
    // The sums a reader can check, written out here from the report's meaning (not from its code).
    const sums: { name: string; total: number | null; parts: (number | null)[] }[] = [];
    const byEp = (id: string) => r.episodes.find((e) => e.episodeId === id)!;
    for (const e of r.episodes) {
      sums.push({
        name: `${e.episodeId} downloads`,
        total: e.downloads,
        parts: e.downloadsByDay.map((x) => x.value),
      });
      sums.push({ name: `${e.episodeId} plays`, total: e.plays, parts: e.playsByDay.map((x) => x.value) });
      sums.push({ name: `${e.episodeId} peers`, total: e.p2p.peers, parts: e.p2pByDay.map((x) => x.peers) });
      sums.push({
        name: `${e.episodeId} web`,
        total: e.p2p.webSeed,
        parts: e.p2pByDay.map((x) => x.webSeed),
      });
    }
    for (const s of r.shows) {
      const mine = r.episodes.filter((e) => e.showId === s.showId);
      sums.push({ name: `${s.showId} downloads`, total: s.downloads, parts: mine.map((e) => e.downloads) });
      sums.push({ name: `${s.showId} plays`, total: s.plays, parts: mine.map((e) => e.plays) });
      sums.push({
        name: `${s.showId} by day`,
        total: s.downloads,
        parts: s.downloadsByDay.map((x) => x.value),
      });
      for (const d of s.downloadsByDay)
        sums.push({
          name: `${s.showId} day ${d.day}`,
          total: d.value,
          parts: mine.map((e) => {
            const x = e.downloadsByDay.find((y) => y.day === d.day);
            return x ? x.value : 0;
          }),
        });
    }
    sums.push({ name: 'downloads', total: r.totals.downloads, parts: r.shows.map((s) => s.downloads) });
    sums.push({ name: 'plays', total: r.totals.plays, parts: r.shows.map((s) => s.plays) });
    for (const s of sums) {
      const hidden = [s.total, ...s.parts].filter((v) => v === null).length;
      expect(hidden === 1, `${s.name}: ${JSON.stringify(s)}`).toBe(false);
    }
    // The small cells are hidden, and so is at least one big one beside each.
    expect(byEp('a').downloadsByDay.map((x) => x.value)).toEqual([null, null]);
    expect(byEp('c').downloadsByDay.find((x) => x.day === d2)!.value).toBeNull();
    // A day's plays hidden beside a small one hides that day's unique listeners too.
    for (const e of r.episodes)
      for (const p of e.playsByDay)
        if (p.value === null) expect(e.listeners.day.find((l) => l.day === p.day)!.value).toBeNull();
    // Not blanket: the totals (29 and 35 people) stay visible.
    expect(r.totals.downloads).toBe(35);
    expect(r.totals.plays).toBe(35);
    // The CSV is made from the same cells.
    const rows = csvTable(creatorCsv(r));
    expect(
      rows.find((x) => x.episode === 'a' && x.date === new Date(d2).toISOString().slice(0, 10))!
        .downloads_calendar,
    ).toBe('');
  });
});

describe('k-suppression: one function, every report cell that counts people', () => {
  it('suppress: k = 5, and a smaller k asked for is not honoured', () => {
    expect(suppress(7, 4)).toBeNull();
    expect(suppress(0, 0)).toBe(0); // nobody behind it: nobody to hide
    expect(suppress(7, 5)).toBe(7);
    expect(suppress(7, 4, 2)).toBeNull();
    expect(suppress(7, 9, 10)).toBeNull();
  });

  it('with four people, no people cell of the creator or advertiser report is visible', () => {
    const { creator, advertiser, audience, playAudience } = world(4);
    for (const report of [creator, advertiser, audience, playAudience]) {
      const cells = peopleCells(report);
      expect(cells.size).toBeGreaterThan(0);
      const visible = [...cells].filter(([, v]) => v !== null);
      expect(visible).toEqual([]);
    }
    // The walk did reach the cells the audit found shown: ad reach per episode, swarm per day, P2P bytes.
    const paths = [...peopleCells(creator).keys()];
    for (const p of [
      'episodes.0.ads.reach',
      'episodes.0.swarm.0.seeders',
      'episodes.0.swarm.0.leechers',
      'episodes.0.p2p.peers',
      'episodes.0.p2pByDay.0.webSeed',
      'episodes.0.listeners.week.0.value',
      'shows.0.downloads',
      'totals.plays',
    ])
      expect(paths).toContain(p);
    // Money stays visible: an invoice must add up.
    expect(creator.episodes[0]!.revenueMicros).toBe(4 * 17_500);
    expect(advertiser.campaigns[0]!.delivery.impressions).toBe(4);
  });

  it('with five people, every people cell is shown (suppression is not blanket)', () => {
    const { creator, advertiser, audience, playAudience } = world(5);
    expect(audience.by.app).toEqual([{ value: 'Overcast', downloads: 5 }]);
    expect(playAudience.by.app).toEqual([{ value: 'Swarmcast Player', plays: 5 }]);
    for (const report of [creator, advertiser, audience, playAudience]) {
      const hidden = [...peopleCells(report)].filter(([, v]) => v === null);
      expect(hidden).toEqual([]);
    }
    const e = creator.episodes[0]!;
    expect(e.swarm).toEqual([{ day, seeders: 5, leechers: 5 }]);
    expect(e.ads.reach).toBe(5);
    expect(e.p2p).toEqual({ peers: 20_000_000, webSeed: 10_000_000, share: 2 / 3 });
    expect(advertiser.campaigns[0]!.delivery.reach).toBe(5);
  });

  it('the CSV exports: people columns empty below k, filled from k', () => {
    const small = csvTable(creatorCsv(world(4).creator));
    const big = csvTable(creatorCsv(world(5).creator));
    expect(small).toHaveLength(1);
    expect(big).toHaveLength(1);
    for (const c of csvPeopleColumns) {
      expect(small[0]![c], c).toBe('');
      expect(Number(big[0]![c]), c).toBeGreaterThanOrEqual(5);
    }
    expect(small[0]!.revenue_micros).toBe(String(4 * 17_500));
    // Every column is either a people column or named here as not one.
    const notPeople = ['date', 'show', 'episode', 'title', 'revenue_micros'];
    expect(Object.keys(small[0]!).sort()).toEqual([...csvPeopleColumns, ...notPeople].sort());
    // The audience CSV: its only number column counts people.
    const a4 = csvTable(audienceCsv(world(4).audience));
    const a5 = csvTable(audienceCsv(world(5).audience));
    expect(a4.length).toBeGreaterThanOrEqual(5);
    for (const row of a4) expect(row.downloads_calendar, `${row.dimension} ${row.value}`).toBe('');
    for (const row of a5) expect(Number(row.downloads_calendar)).toBe(5);
    // The plays audience CSV: its only number column counts people.
    const p4 = csvTable(playAudienceCsv(world(4).playAudience));
    expect(p4.length).toBeGreaterThanOrEqual(3);
    for (const row of p4) expect(row.plays, `${row.dimension} ${row.value}`).toBe('');
    // The advertiser's CSV carries billed quantities only (impressions, spend): no people column.
    expect(advertiserCsv(world(4).advertiser).split('\r\n')[0]).toBe(
      'date,campaign,impressions,spend_micros',
    );
  });
});

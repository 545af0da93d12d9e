import type { AudienceKey } from '@swarmcast/platform';
import { describe, expect, it } from 'vitest';
import { buildAdvertiserReport } from '../src/reports/advertiser-report.ts';
import { audienceCsv, buildAudience } from '../src/reports/audience.ts';
import { buildCreatorReport } from '../src/reports/creator-report.ts';
import { advertiserCsv, creatorCsv } from '../src/reports/csv.ts';
import type { AdEventRow } from '../src/rules/ad-metrics.ts';
import { countDownloads } from '../src/rules/downloads.ts';
import type { PlayRow } from '../src/rules/play-metrics.ts';
import { suppress } from '../src/rules/suppress.ts';
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
  return { creator, advertiser, audience };
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
  it('counts each value and hides the values fewer than five people stand behind', () => {
    const t = Date.UTC(2026, 11, 2, 8, 30);
    const overcast = { app: 'Overcast', device: 'phone', os: 'iOS', bot: false };
    const apple = { app: 'Apple Podcasts', device: 'phone', os: 'iOS', bot: false };
    const downloads = [
      ...Array.from({ length: 6 }, (_, i) =>
        dl({ time: t + i * 60_000, audienceKey: `o${i}` as AudienceKey, client: overcast, country: 'DE' }),
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
    expect(a.total).toBe(8);
    expect(a.by.app).toEqual([
      { value: 'Overcast', downloads: 6 },
      { value: 'Apple Podcasts', downloads: null },
    ]);
    expect(a.by.device).toEqual([{ value: 'phone', downloads: 8 }]);
    expect(a.by.os).toEqual([{ value: 'iOS', downloads: 8 }]);
    expect(a.by.country).toEqual([
      { value: 'DE', downloads: 6 },
      { value: 'FR', downloads: null },
    ]);
    expect(a.by.hour).toEqual([
      { value: '08', downloads: 6 },
      { value: '09', downloads: null },
    ]);
  });
});

describe('k-suppression: one function, every report cell that counts people', () => {
  it('suppress: k = 5, and a smaller k asked for is not honoured', () => {
    expect(suppress(7, 4)).toBeNull();
    expect(suppress(7, 5)).toBe(7);
    expect(suppress(7, 4, 2)).toBeNull();
    expect(suppress(7, 9, 10)).toBeNull();
  });

  it('with four people, no people cell of the creator or advertiser report is visible', () => {
    const { creator, advertiser, audience } = world(4);
    for (const report of [creator, advertiser, audience]) {
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
    const { creator, advertiser, audience } = world(5);
    expect(audience.by.app).toEqual([{ value: 'Overcast', downloads: 5 }]);
    for (const report of [creator, advertiser, audience]) {
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
    // The advertiser's CSV carries billed quantities only (impressions, spend): no people column.
    expect(advertiserCsv(world(4).advertiser).split('\r\n')[0]).toBe(
      'date,campaign,impressions,spend_micros',
    );
  });
});

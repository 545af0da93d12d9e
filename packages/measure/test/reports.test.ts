import { Ledger } from '@swarmcast/ledger';
import type { Db } from '@swarmcast/platform';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerEpisode } from '../src/pipeline/pipeline.ts';
import { processBatch } from '../src/pipeline/process-batch.ts';
import { Reports } from '../src/reports/reports.ts';
import { reportRoutes } from '../src/reports/routes.ts';
import { day, episode1, episode2, scenarioEvents } from './support/scenario.ts';
import { measureDb, publicKeys } from './support/world.ts';

let db: Db;
const period = { from: day, to: day + 86_400_000 };
beforeAll(async () => {
  db = await measureDb();
  await registerEpisode(db, episode1);
  await registerEpisode(db, episode2);
  const events = scenarioEvents();
  // In batches of 7, then the whole day redelivered: nothing may count twice.
  for (let i = 0; i < events.length; i += 7) {
    await db.transaction((tx) => processBatch(tx, events.slice(i, i + 7), { publicKeys: () => publicKeys }));
  }
  const again = await db.transaction((tx) => processBatch(tx, events, { publicKeys: () => publicKeys }));
  expect(again.processed).toBe(0);
});
afterAll(async () => {
  await db.close();
});

describe('reports over a realistic day (figures worked out by hand)', () => {
  it('creator report: downloads the IAB way, plays, listeners, listen-through, offload, swarm, revenue', async () => {
    const r = (await new Reports(db).creator('creator', period, 'calendar'))!;
    const [e1, e2] = r.episodes;
    expect(r.window).toBe('calendar');
    // ep2's 2 listeners < k = 5 are hidden; so are ep1's 7, else the show's 9 less 7 gives them away.
    expect(e1!.downloads).toBeNull();
    expect(e1!.downloadsByDay).toEqual([{ day, value: null }]);
    expect(e2!.downloads).toBeNull();
    expect(e2!.downloadsByDay).toEqual([{ day, value: null }]);
    expect(r.totals.downloads).toBe(9);
    // Nobody played ep2: a cell with nobody behind it hides nobody.
    expect(e2!.plays).toBe(0);
    // The scenario's players send no listener id (as under Do-Not-Track): only the daily key,
    // so a week (30 Nov to 6 Dec, across the 1st anyway) and the month are upper bounds.
    const listeners = {
      day: [{ day, value: 7, exact: true }],
      week: [{ day: Date.UTC(2026, 10, 30), value: 7, exact: false }],
      month: [{ day: Date.UTC(2026, 11, 1), value: 7, exact: false }],
    };
    expect(r.shows).toEqual([
      {
        showId: 'show',
        downloads: 9,
        downloadsByDay: [{ day, value: 9 }],
        plays: 7,
        listeners,
        revenueMicros: 105_000,
      },
    ]);
    expect(r.filtered).toEqual({
      bot: 3,
      datacenter: 2,
      referrer: 0,
      head: 1,
      'not-modified': 1,
      status: 0,
      probe: 2,
      'apple-watch': 1,
      'unknown-episode': 0,
      'below-threshold': 1,
      rate: 0,
    });
    expect(e1!.plays).toBe(7);
    expect(e1!.corroboratedShare).toBeCloseTo(6 / 7, 12);
    expect(e1!.listeners).toEqual(listeners);
    expect(e1!.listenThrough).toEqual([7, 6, 5, 5, 4, 4, 3, 2, 2, 1, 1].map((n) => n / 7));
    expect(e1!.p2p).toEqual({ peers: 12_600_000, webSeed: 1_500_000, share: 12_600_000 / 14_100_000 });
    // Over time: every play of the day started on 2 December.
    expect(e1!.playsByDay).toEqual([{ day, value: 7 }]);
    expect(e1!.p2pByDay).toEqual([{ day, ...e1!.p2p }]);
    // Two seeders and one leecher are people cells under k = 5: suppressed (suppression.test.ts).
    expect(e1!.swarm).toEqual([{ day, seeders: null, leechers: null }]);
    expect(r.invalidPlays).toEqual({ bot: 1, 'too-fast': 1 });
    expect(e1!.revenueMicros).toBe(105_000);
    expect(e1!.ads).toMatchObject({ impressions: 6, complete: 5, clicks: 1, reach: 6 });
    expect(e1!.fill).toEqual([
      { breakId: 'ep1-pre', slots: 8, filled: 7, fillRate: 0.875, deliveredRate: 0.75 },
    ]);
  });

  it('the first-touch and last-touch windows fold listener 1 the same way on one day', async () => {
    for (const w of ['firstTouch', 'lastTouch'] as const) {
      const r = (await new Reports(db).creator('creator', period, w))!;
      expect(r.window).toBe(w);
      expect(r.totals.downloads).toBe(9);
    }
  });

  it('advertiser report: delivery, quartiles, completion, reach and frequency, spend, IVT share', async () => {
    const r = await new Reports(db).advertiser('adv-1', period);
    expect(r.campaigns).toHaveLength(1);
    const c = r.campaigns[0]!;
    expect(c.delivery).toEqual({
      impressions: 6,
      starts: 6,
      firstQuartile: 5,
      midpoint: 5,
      thirdQuartile: 5,
      complete: 5,
      completionRate: 5 / 6,
      clicks: 1,
      reach: 6,
      frequency: 1,
      invalidByReason: { duplicate: 1, bot: 1, 'decision-invalid': 2, 'too-fast': 1 },
      ivtShare: 5 / 38,
    });
    expect(c.spendMicros).toBe(150_000);
    expect(c.impressionsByDay).toEqual([{ day, impressions: 6 }]);
  });

  it('the books: 7 charged, 1 refunded, balanced', async () => {
    const ledger = new Ledger(db);
    expect(await ledger.balance('advertiser:adv-1')).toBe(-150_000);
    expect(await ledger.balance('creator:creator')).toBe(105_000);
    expect(await ledger.balance('platform')).toBe(45_000);
    expect(await ledger.balance('revenue')).toBe(0);
    expect((await ledger.check()).balanced).toBe(true);
    const s = await ledger.statement('creator', '2026-12');
    expect(s).toMatchObject({ earned: 122_500, refunded: 17_500, closing: 105_000, netImpressions: 6 });
  });

  it('admin report: every filtered beacon is kept with its reason', async () => {
    const r = await new Reports(db).admin(period);
    const n = (subject: string, reason: string) =>
      r.events.find((e) => e.subject === subject && e.reason === reason)?.count ?? 0;
    expect(n('beacon.ad', 'forged')).toBe(1);
    expect(n('beacon.ad', 'expired')).toBe(1);
    expect(n('beacon.ad', 'bot')).toBe(1);
    expect(n('beacon.ad', 'duplicate')).toBe(1);
    expect(n('beacon.ad', 'too-fast')).toBe(1);
    expect(n('beacon.play', 'bot')).toBe(1);
    expect(n('beacon.play', 'too-fast')).toBe(1);
    expect(r.books.balanced).toBe(true);
  });

  it('HTTP: nobody reads a report without the portal check; its answers become 401 and 403', async () => {
    const closed = Fastify();
    reportRoutes(closed, new Reports(db), { now: () => period.to });
    for (const path of ['/api/measure/creator/creator', '/measure/advertiser/adv-1', '/api/measure/admin']) {
      const r = await closed.inject(path);
      expect(r.statusCode, path).toBe(401);
      expect(r.json()).toMatchObject({ code: 'MEA_UNAUTHENTICATED' });
    }
    const scopes: unknown[] = [];
    const guarded = Fastify();
    reportRoutes(guarded, new Reports(db), { now: () => period.to }, (req, scope) => {
      scopes.push(scope);
      return req.headers['x-who'] === 'creator' && scope.kind === 'creator' && scope.id === 'creator'
        ? 'allowed'
        : req.headers['x-who']
          ? 'forbidden'
          : 'unauthenticated';
    });
    const as = (who: string | null, url: string) =>
      guarded.inject({ url, headers: who ? { 'x-who': who } : {} });
    expect(
      (await as('creator', '/api/measure/creator/creator?from=2026-12-02&to=2026-12-03')).statusCode,
    ).toBe(200);
    const other = await as('creator', '/api/measure/advertiser/adv-1');
    expect(other.statusCode).toBe(403);
    expect(other.json()).toMatchObject({ code: 'MEA_FORBIDDEN' });
    expect((await as('creator', '/measure/admin')).statusCode).toBe(403);
    expect((await as(null, '/api/measure/creator/creator')).statusCode).toBe(401);
    expect(scopes).toContainEqual({ kind: 'advertiser', id: 'adv-1' });
    expect(scopes).toContainEqual({ kind: 'admin' });
    // The audience API is the creator's too.
    expect((await as('someone', '/api/measure/creator/creator/audience')).statusCode).toBe(403);
    expect((await as(null, '/api/measure/creator/creator/audience?format=csv')).statusCode).toBe(401);
  });

  it('HTTP: audience breakdowns for scripts, JSON and CSV, each cell k-suppressed', async () => {
    const app = Fastify();
    reportRoutes(app, new Reports(db), { now: () => period.to }, () => true);
    const json = await app.inject('/api/measure/creator/creator/audience?from=2026-12-02&to=2026-12-03');
    expect(json.statusCode).toBe(200);
    const a = json.json();
    // Nine counted downloads: eight by podcast apps (Overcast on iOS phones), one torrent (qBittorrent).
    expect(a.total).toBe(9);
    // qBittorrent's one is hidden, and Overcast's 8 with it (9 - 8 would give it away).
    expect(a.by.app).toEqual([
      { value: 'Overcast', downloads: null },
      { value: 'qBittorrent', downloads: null },
    ]);
    expect(a.by.device).toEqual([
      { value: 'phone', downloads: null },
      { value: 'unknown', downloads: null },
    ]);
    expect(a.by.country).toEqual([{ value: 'unknown', downloads: 9 }]);
    const one = await app.inject(
      '/api/measure/creator/creator/audience?from=2026-12-02&to=2026-12-03&episode=ep2',
    );
    expect(one.json()).toMatchObject({ episodeId: 'ep2', total: null });
    expect((await app.inject('/api/measure/creator/creator/audience?episode=nope')).statusCode).toBe(404);
    // Plays in the player by app, device class and OS: the collector's classes of each session,
    // stored by the pipeline (never the user agent). The seven valid plays came from one kind of
    // browser; the bot's and the too-fast play are not plays.
    const plays = await app.inject(
      '/api/measure/creator/creator/audience?from=2026-12-02&to=2026-12-03&metric=plays',
    );
    expect(plays.statusCode).toBe(200);
    expect(plays.json()).toMatchObject({
      metric: 'plays',
      total: 7,
      by: {
        app: [{ value: 'Swarmcast Player', plays: 7 }],
        device: [{ value: 'computer', plays: 7 }],
        os: [{ value: 'Linux', plays: 7 }],
      },
    });
    const playsCsv = await app.inject(
      '/api/measure/creator/creator/audience?from=2026-12-02&to=2026-12-03&metric=plays&format=csv',
    );
    expect(playsCsv.headers['content-type']).toMatch(/text\/csv/);
    expect(playsCsv.body.split('\r\n')).toEqual([
      'dimension,value,plays',
      'app,Swarmcast Player,7',
      'device,computer,7',
      'os,Linux,7',
      // The scenario's beacons came straight to the collector: no trusted proxy, no country.
      'country,unknown,7',
      'hour,13,7',
      '',
    ]);
    expect(
      (await app.inject('/api/measure/creator/creator/audience?metric=plays&episode=ep2')).json(),
    ).toMatchObject({ total: 0 });
    expect((await app.inject('/api/measure/creator/creator/audience?metric=listens')).statusCode).toBe(400);
    const csv = await app.inject(
      '/api/measure/creator/creator/audience?from=2026-12-02&to=2026-12-03&format=csv',
    );
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    const lines = csv.body.split('\r\n');
    expect(lines[0]).toBe('dimension,value,downloads_calendar');
    expect(lines).toContain('app,Overcast,');
    expect(lines).toContain('country,unknown,9');
    expect(lines).toContain('app,qBittorrent,');
  });

  it('HTTP: JSON, CSV and an escaped dashboard page with charts', async () => {
    const app = Fastify();
    reportRoutes(app, new Reports(db), { now: () => period.to }, () => true);
    const json = await app.inject(
      `/api/measure/creator/creator?from=2026-12-02&to=2026-12-03&window=firstTouch`,
    );
    expect(json.statusCode).toBe(200);
    expect(json.json()).toMatchObject({ window: 'firstTouch', totals: { downloads: 9 } });
    const csv = await app.inject('/api/measure/creator/creator?from=2026-12-02&to=2026-12-03&format=csv');
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.body.split('\r\n')).toEqual([
      'date,show,episode,title,downloads_calendar,plays,listeners,bytes_from_peers,bytes_from_web_seed,seeders,leechers,revenue_micros',
      '2026-12-02,show,ep1,"Episode <1> & ""friends""",,7,7,12600000,1500000,,,105000',
      '2026-12-02,show,ep2,Short,,0,0,0,0,0,0,0',
      '',
    ]);
    const page = await app.inject('/measure/creator/creator?from=2026-12-02&to=2026-12-03');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Episode &lt;1&gt; &amp; &quot;friends&quot;');
    expect(page.body).not.toContain('Episode <1>');
    // Daily bars drawn on the server: one bar per day of the period asked for (one here),
    // never an axis beyond it.
    const figures = [...page.body.matchAll(/<figure class="bars" id="([^"]+)">([\s\S]*?)<\/figure>/g)];
    expect(figures.map((f) => f[1]).filter((id) => !id!.startsWith('listen-through'))).toEqual([
      'downloads',
      'plays',
      'revenue',
      'p2p',
      'swarm',
    ]);
    for (const f of figures.filter((x) => !x[1]!.startsWith('listen-through'))) {
      expect(f[2]!.match(/<span (?:class="gap"|style="height:\d+%")/g)?.length, f[1]).toBe(1);
      expect(f[2]).toContain('2026-12-02');
      expect(f[2]).not.toMatch(/202[7-9]-/);
    }
    expect(page.body).toMatch(/id="downloads"[\s\S]*?title="2026-12-02: 7"/);
    expect(page.body).not.toContain('<script');
    // Weekly and monthly listeners of keyless plays are marked as upper bounds.
    expect(page.body).toMatch(
      /week of 2026-11-30<\/td><td class="num"><span title="upper bound[^"]*">≤ <\/span>7</,
    );
    // Money with its currency; a suppressed cell links to the explanation.
    expect(page.body).toMatch(
      /<h2>Per show<\/h2>[\s\S]*<td>show<\/td><td class="num">9<\/td><td class="num">7<\/td><td class="num">€0\.11<\/td>/,
    );
    // The audience breakdown on the page, with links for scripts; small cells hidden there too.
    expect(page.body).toMatch(/<h2>Audience<\/h2>/);
    expect(page.body).toContain('<tr><td>unknown</td><td class="num">9</td></tr>');
    // Plays by audience on the page too, with its links for scripts.
    expect(page.body).toMatch(/<h2>Plays by audience<\/h2>/);
    expect(page.body).toContain('<caption>Plays by app</caption>');
    expect(page.body).toContain('<tr><td>Swarmcast Player</td><td class="num">7</td></tr>');
    expect(page.body).toMatch(
      /href="\/api\/measure\/creator\/creator\/audience\?[^"]*metric=plays&amp;format=csv"/,
    );
    expect(page.body).toMatch(/<tr><td>Overcast<\/td><td class="num"><a class="badge warn" href="#k-note"/);
    expect(page.body).toMatch(
      /<tr><td>qBittorrent<\/td><td class="num"><a class="badge warn" href="#k-note"/,
    );
    expect(page.body).toContain(
      'href="/api/measure/creator/creator/audience?from=2026-12-02&amp;to=2026-12-03&amp;format=csv"',
    );
    expect(page.body).toContain('href="#k-note"');
    expect(page.body).toContain('id="k-note"');
    const advPage = await app.inject('/measure/advertiser/adv-1?from=2026-12-02&to=2026-12-03');
    expect(advPage.body).toContain('href="/api/measure/statements/campaign/camp-1?day=2026-12-02"');
    expect(advPage.body).toContain('href="/.well-known/swarmcast-statements.json"');
    const asset = await app.inject('/measure/assets/uPlot.iife.min.js');
    expect(asset.statusCode).toBe(200);
    expect((await app.inject('/measure/assets/..%2fpackage.json')).statusCode).toBe(404);
    expect((await app.inject('/api/measure/creator/nobody')).statusCode).toBe(404);
    expect((await app.inject('/api/measure/creator/creator?from=junk')).json()).toMatchObject({
      code: 'MEA_BAD_REQUEST',
    });
    expect((await app.inject('/api/measure/creator/creator?window=weekly')).statusCode).toBe(400);
    const adv = await app.inject('/measure/advertiser/adv-1?from=2026-12-02&to=2026-12-03');
    expect(adv.body).toContain('camp-1');
    const admin = await app.inject('/api/measure/admin?from=2026-12-02&to=2026-12-03&format=csv');
    expect(admin.body).toContain('beacon.ad,forged,1');
    await app.close();
  });
});

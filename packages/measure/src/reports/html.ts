import { escapeHtml, formatMoney, raw, page as sitePage, type Viewer } from '@swarmcast/platform';
import { dayMs } from '../rules/windows.ts';
import type { AdvertiserReport } from './advertiser-report.ts';
import {
  type AudienceBreakdown,
  type AudienceDimension,
  audienceDimensions,
  type PlayAudience,
  playDimensions,
} from './audience.ts';
import type { CreatorReport, ListenerCells } from './creator-report.ts';
import type { Period } from './load.ts';
import type { AdminReport } from './reports.ts';

/**
 * Server-rendered report pages in the site layout. Every outside string goes through `esc`.
 * Charts are daily bars drawn in HTML and CSS on the server, one bar for every day of the
 * period asked for (a one-day report draws one day), with no script. Suppressed cells (fewer
 * than k listeners) show as "<k" (explained on the page) and as hatched days in charts.
 */
export const esc = (s: unknown): string => escapeHtml(String(s));

/** What the page needs beyond the report: the viewer, names for ids, the currency. */
export interface PageContext {
  viewer?: Viewer | null | undefined;
  /** Show titles and campaign names by id (ids are shown where a name is unknown). */
  labels?: ReadonlyMap<string, string>;
  /** The currency the node books in (default EUR). */
  currency?: string;
  /** The page's own path and query, for the period links. */
  self?: string;
}

const pct = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 10);
const day = (t: number) => new Date(t).toISOString().slice(0, 10);
const label = (pc: PageContext, id: string) => pc.labels?.get(id) ?? id;

function cell(v: number | null, k: number): string {
  return v === null
    ? `<a class="badge warn" href="#k-note" title="fewer than ${k} listeners: hidden to protect their privacy">&lt;${k}</a>`
    : esc(v);
}

/** Every UTC day of the period, so a chart's x-axis is exactly the period asked for. */
export function periodDays(p: Period): number[] {
  const out: number[] = [];
  for (let d = Math.floor(p.from / dayMs) * dayMs; d < p.to && out.length < 400; d += dayMs) out.push(d);
  return out;
}

/**
 * One daily bar chart: a bar per day scaled to the period's largest value, hatched where
 * the value is suppressed. The figure carries a text summary for screen readers.
 */
export function barChart(
  id: string,
  caption: string,
  days: readonly number[],
  valueAt: (day: number) => number | null,
  fmt: (n: number) => string = (n) => String(n),
  axis?: [string, string, string],
): string {
  const values = days.map(valueAt);
  const shown = values.filter((v): v is number => v !== null);
  const max = Math.max(0, ...shown);
  const total = shown.reduce((s, v) => s + v, 0);
  const peakAt = values.indexOf(max);
  const summary =
    values.includes(null) && max === 0
      ? `${caption}: hidden on the days fewer than k listeners are behind.`
      : shown.length === 0 || max === 0
        ? `${caption}: nothing yet in these ${days.length} day(s).`
        : axis
          ? `${caption}: peak ${fmt(max)}.`
          : `${caption}: peak ${fmt(max)} on ${day(days[peakAt] as number)}, over ${days.length} day(s).`;
  const spans = days
    .map((d, i) => {
      const v = values[i] as number | null;
      if (v === null) return `<span class="gap" title="${day(d)}: hidden (few listeners)"></span>`;
      const h = max > 0 ? Math.max(v > 0 ? 2 : 0, Math.round((v / max) * 100)) : 0;
      return `<span style="height:${h}%" title="${day(d)}: ${esc(fmt(v))}"></span>`;
    })
    .join('');
  const [first, mid, last] = axis ?? [
    days.length ? day(days[0] as number) : '',
    days.length > 2 ? day(days[Math.floor(days.length / 2)] as number) : '',
    days.length > 1 ? day(days[days.length - 1] as number) : '',
  ];
  return `<figure class="bars" id="${esc(id)}"><figcaption>${esc(caption)} <span class="meta">${shown.length && max > 0 ? `total ${esc(fmt(total))}` : ''}</span></figcaption>
<div class="plot" role="img" aria-label="${esc(summary)}">${(shown.length && max > 0) || values.includes(null) ? spans : `<p class="empty">Nothing yet in this period.</p>`}</div>
<div class="axis" aria-hidden="true"><span>${esc(first)}</span><span>${esc(mid)}</span><span>${esc(last)}</span></div></figure>`;
}

/** The period picker: a form for any dates and links for the usual spans. */
function periodForm(p: Period, path: string, window?: string): string {
  const last = (n: number) => {
    const to = Math.ceil(p.to / dayMs) * dayMs;
    return `${esc(path)}?from=${day(to - n * dayMs)}&amp;to=${day(to)}${window ? `&amp;window=${esc(window)}` : ''}`;
  };
  return `<form class="row" method="get" action="${esc(path)}" aria-label="Period">
<label class="field">From <input type="date" name="from" value="${day(p.from)}"></label>
<label class="field">To (not included) <input type="date" name="to" value="${day(p.to)}"></label>
${window ? `<input type="hidden" name="window" value="${esc(window)}">` : ''}
<button type="submit" class="secondary">Show</button>
<span class="meta">or the last <a href="${last(1)}">day</a> · <a href="${last(7)}">7 days</a> · <a href="${last(30)}">30 days</a> · <a href="${last(90)}">90 days</a></span>
</form>`;
}

const kNote = (k: number) =>
  `<p class="alert info" id="k-note"><strong>Why “&lt;${k}”?</strong> A number that fewer than ${k} different listeners are behind is hidden, so nobody can pick out one person's listening. It shows once ${k} or more people have listened; totals still count everyone.</p>`;

function frame(
  title: string,
  lead: string,
  body: string,
  csvHref: string,
  pc: PageContext,
  crumbs: [string, string][],
): string {
  return sitePage(
    {
      title,
      viewer: pc.viewer,
      crumbs,
      ...(pc.viewer?.role === 'creator' && pc.viewer.id
        ? { current: `/measure/creator/${encodeURIComponent(pc.viewer.id)}` }
        : {}),
    },
    raw(`<h1>${esc(title)}</h1>
<p class="lead">${lead}</p>
${body}
<p class="meta"><a href="${esc(csvHref)}">Download these figures as CSV</a></p>`),
  );
}

/** Weekly and monthly unique listeners as table rows; an upper bound is shown as "≤ n". */
function listenerRows(name: string, cells: ListenerCells, k: number): string {
  return (['week', 'month'] as const)
    .flatMap((period) =>
      cells[period].map(
        (c) =>
          `<tr><td>${esc(name)}</td><td>${period} of ${esc(day(c.day))}</td><td class="num">${
            c.exact || c.value === null ? '' : '<span title="upper bound: see the methodology">≤ </span>'
          }${cell(c.value, k)}</td></tr>`,
      ),
    )
    .join('');
}

const words: Record<string, string> = {
  bot: 'known bots and crawlers',
  datacenter: 'data-centre addresses',
  referrer: 'excluded referrers',
  head: 'HEAD requests',
  'not-modified': 'not-modified answers',
  status: 'failed requests',
  probe: 'probes under 1 minute of audio',
  'apple-watch': 'Apple Watch double fetches',
  'unknown-episode': 'unknown episodes',
  'below-threshold': 'too few bytes',
  rate: 'too many from one listener',
};

/** The audience breakdown as one small table per dimension (cells k-suppressed like the rest). */
function audienceSection(a: AudienceBreakdown | undefined, api: string): string {
  if (!a) return '';
  const names: Record<AudienceDimension, string> = {
    app: 'App',
    device: 'Device',
    os: 'Operating system',
    country: 'Country',
    hour: 'Hour (UTC)',
  };
  const tables = audienceDimensions
    .map(
      (dim) =>
        `<div class="table-wrap"><table><caption>${esc(names[dim])}</caption><thead><tr><th scope="col">${esc(names[dim])}</th><th scope="col" class="num">Downloads</th></tr></thead><tbody>${
          a.by[dim]
            .map((c) => `<tr><td>${esc(c.value)}</td><td class="num">${cell(c.downloads, a.k)}</td></tr>`)
            .join('') || '<tr><td colspan="2">No downloads in this period.</td></tr>'
        }</tbody></table></div>`,
    )
    .join('\n');
  return `<h2>Audience</h2>
<p class="meta">Counted downloads by the app, device and operating system that fetched them, the country your proxy reported, and the hour of the day. For scripts: <a href="${esc(api)}">JSON</a> · <a href="${esc(`${api}${api.includes('?') ? '&' : '?'}format=csv`)}">CSV</a>.</p>
${tables}`;
}

/** Plays in the player by the same dimensions, one small table each (k-suppressed). */
function playsSection(a: PlayAudience | undefined, api: string): string {
  if (!a) return '';
  const names: Record<AudienceDimension, string> = {
    app: 'App',
    device: 'Device',
    os: 'Operating system',
    country: 'Country',
    hour: 'Hour (UTC)',
  };
  const tables = playDimensions
    .map(
      (dim) =>
        `<div class="table-wrap"><table><caption>Plays by ${esc(names[dim].toLowerCase())}</caption><thead><tr><th scope="col">${esc(names[dim])}</th><th scope="col" class="num">Plays</th></tr></thead><tbody>${
          a.by[dim]
            .map((c) => `<tr><td>${esc(c.value)}</td><td class="num">${cell(c.plays, a.k)}</td></tr>`)
            .join('') || '<tr><td colspan="2">No plays in this period.</td></tr>'
        }</tbody></table></div>`,
    )
    .join('\n');
  const plays = `${api}${api.includes('?') ? '&' : '?'}metric=plays`;
  return `<h2>Plays by audience</h2>
<p class="meta">Valid plays in the Swarmcast player by app, device, operating system, the country your proxy reported, and the hour they started. For scripts: <a href="${esc(plays)}">JSON</a> · <a href="${esc(`${plays}&format=csv`)}">CSV</a>.</p>
${tables}`;
}

export function creatorPage(
  r: CreatorReport,
  csvHref: string,
  pc: PageContext = {},
  audience?: AudienceBreakdown,
  plays?: PlayAudience,
): string {
  const k = r.k;
  const audienceApi = `/api/measure/creator/${encodeURIComponent(r.creatorId)}/audience${new URL(csvHref, 'http://x').search.replace(/[?&]format=csv/, '').replace(/^&/, '?')}`;
  const cur = pc.currency ?? 'EUR';
  const money = (m: number) => formatMoney(m, cur);
  const days = periodDays(r.period);
  const sumDays =
    (cells: (e: CreatorReport['episodes'][number]) => { day: number; value: number | null }[]) =>
    (d: number) => {
      let any = false;
      let hidden = false;
      let sum = 0;
      for (const e of r.episodes) {
        const c = cells(e).find((x) => x.day === d);
        if (!c) continue;
        if (c.value === null) hidden = true;
        else {
          any = true;
          sum += c.value;
        }
      }
      return hidden && !any ? null : sum;
    };
  const revenueOn = (d: number) =>
    r.episodes.reduce(
      (s, e) => s + e.revenueByDay.filter((x) => x.day === d).reduce((a, x) => a + x.micros, 0),
      0,
    );
  // Suppressed cells are left out of the sums; a day whose every cell is suppressed is hatched.
  const p2pOn = (d: number) => {
    let peers = 0;
    let web = 0;
    let hidden = false;
    for (const e of r.episodes)
      for (const x of e.p2pByDay.filter((y) => y.day === d)) {
        if (x.peers === null || x.webSeed === null) hidden = true;
        else {
          peers += x.peers;
          web += x.webSeed;
        }
      }
    if (peers + web > 0) return Math.round((peers / (peers + web)) * 1000) / 10;
    return hidden ? null : 0;
  };
  const peersOn = (d: number) => {
    let sum = 0;
    let hidden = false;
    for (const e of r.episodes) {
      const x = e.swarm.find((y) => y.day === d);
      if (!x) continue;
      for (const v of [x.seeders, x.leechers]) {
        if (v === null) hidden = true;
        else sum += v;
      }
    }
    return sum === 0 && hidden ? null : sum;
  };
  const allPeers = r.episodes.reduce((s, e) => s + (e.p2p.peers ?? 0), 0);
  const allWeb = r.episodes.reduce((s, e) => s + (e.p2p.webSeed ?? 0), 0);
  const stats = `<ul class="stats">
<li><b>${cell(r.totals.downloads, k)}</b><span>downloads</span></li>
<li><b>${cell(r.totals.plays, k)}</b><span>plays in the Swarmcast player</span></li>
<li><b>${esc(money(r.totals.revenueMicros))}</b><span>your ad revenue</span></li>
<li><b>${allPeers + allWeb > 0 ? esc(Math.round((allPeers / (allPeers + allWeb)) * 100)) : 0} %</b><span>of bytes from listeners' peers</span></li>
</ul>`;
  const rows = r.episodes
    .map(
      (
        e,
      ) => `<tr><td><a href="/episodes/${encodeURIComponent(e.episodeId)}">${esc(e.title || e.episodeId)}</a><br><span class="meta">${esc(label(pc, e.showId))}</span></td>
<td class="num" data-label="Downloads">${cell(e.downloads, k)}</td><td class="num" data-label="Plays">${cell(e.plays, k)}</td><td class="num" data-label="Confirmed %">${cell(pct(e.corroboratedShare), k)}</td>
<td class="num" data-label="From peers %">${cell(pct(e.p2p.share), k)}</td><td class="num" data-label="Ads heard">${esc(e.ads.impressions)}</td><td class="num" data-label="Revenue">${esc(money(e.revenueMicros))}</td></tr>`,
    )
    .join('\n');
  const listenThrough = r.episodes
    .filter((e) => e.listenThrough)
    .map((e) =>
      barChart(
        `listen-through-${e.episodeId}`,
        `Listen-through: ${e.title || e.episodeId} (share of plays reaching each 10 %)`,
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        (i) => Math.round(((e.listenThrough as number[])[i] ?? 0) * 1000) / 10,
        (n) => `${n} %`,
        ['start', 'half-way', 'end'],
      ),
    )
    .join('');
  const body = `${periodForm(r.period, pc.self ?? `/measure/creator/${encodeURIComponent(r.creatorId)}`, r.window)}
${stats}
${r.episodes.some((e) => e.downloads === null || e.plays === null) ? kNote(k) : ''}
${barChart(
  'downloads',
  'Downloads per day',
  days,
  sumDays((e) => e.downloadsByDay),
)}
${barChart(
  'plays',
  'Plays per day',
  days,
  sumDays((e) => e.playsByDay),
)}
${barChart('revenue', `Ad revenue per day (${cur})`, days, revenueOn, money)}
${barChart('p2p', 'Share of bytes from peers per day', days, p2pOn, (n) => `${n} %`)}
${barChart('swarm', 'Peers in the swarm per day (seeders and listeners)', days, peersOn)}
${listenThrough}
<h2>Episodes</h2>
<div class="table-wrap"><table class="stack-sm"><thead><tr><th scope="col">Episode</th><th scope="col" class="num">Downloads</th><th scope="col" class="num">Plays</th><th scope="col" class="num">Confirmed %</th><th scope="col" class="num">From peers %</th><th scope="col" class="num">Ads heard</th><th scope="col" class="num">Revenue</th></tr></thead>
<tbody>${rows || '<tr><td colspan="7">No episodes yet.</td></tr>'}</tbody>
<tfoot><tr><th scope="row">Total</th><td class="num" data-label="Downloads">${cell(r.totals.downloads, k)}</td><td class="num" data-label="Plays">${cell(r.totals.plays, k)}</td><td></td><td></td><td></td><td class="num" data-label="Revenue">${esc(money(r.totals.revenueMicros))}</td></tr></tfoot></table></div>
<h2>Per show</h2>
<div class="table-wrap"><table><thead><tr><th scope="col">Show</th><th scope="col" class="num">Downloads</th><th scope="col" class="num">Plays</th><th scope="col" class="num">Revenue</th></tr></thead><tbody>${r.shows
    .map(
      (sh) =>
        `<tr><td>${esc(label(pc, sh.showId))}</td><td class="num">${cell(sh.downloads, k)}</td><td class="num">${cell(sh.plays, k)}</td><td class="num">${esc(money(sh.revenueMicros))}</td></tr>`,
    )
    .join('')}</tbody></table></div>
${audienceSection(audience, audienceApi)}
${playsSection(plays, audienceApi)}
<h2>Unique listeners per week and month</h2>
<p class="meta">Exact for a calendar month and for a week inside one month. "≤" marks an upper bound:
listeners who withhold the listener id (Do-Not-Track, GPC) have a key that changes every day, and the
listener id changes on the 1st of each month, so such a person may be counted more than once.</p>
<div class="table-wrap"><table><thead><tr><th scope="col">Show / episode</th><th scope="col">Period</th><th scope="col" class="num">Listeners</th></tr></thead><tbody>${[
    ...r.shows.map((sh) => listenerRows(label(pc, sh.showId), sh.listeners, k)),
    ...r.episodes.map((e) => listenerRows(e.title || e.episodeId, e.listeners, k)),
  ].join('')}</tbody></table></div>
<details class="advanced"><summary>How downloads are counted</summary>
<p>Downloads follow the IAB Podcast Measurement Technical Guidelines v2.3 with the <strong>${esc(r.window)}</strong> de-duplication window. Left out of the count in this period:</p>
<div class="table-wrap"><table><tbody>${Object.entries(r.filtered)
    .map(([reason, n]) => `<tr><td>${esc(words[reason] ?? reason)}</td><td class="num">${esc(n)}</td></tr>`)
    .join('')}</tbody></table></div></details>${serverSideSection(r.serverSide, 'Episode')}`;
  return frame(
    'Analytics',
    `Downloads, listeners and earnings of your shows, ${esc(day(r.period.from))} to ${esc(day(r.period.to - 1))}.`,
    body,
    csvHref,
    pc,
    [['/dashboard', 'My shows']],
  );
}

/** Server-side deliveries (DAI) as their own table: never added to the VAST impressions above. */
function serverSideSection(
  s:
    | {
        delivered: number;
        refunded: number;
        groups: Array<{ group: string; delivered: number; refunded: number }>;
      }
    | undefined,
  what: string,
): string {
  if (!s) return '';
  return `<h2>Ads delivered in podcast apps (server-side)</h2>
<p class="meta">Ads stitched into the episode file for podcast apps (dynamic ad insertion) count as delivered when every byte of the ad reached the listener in a valid download (IAB v2.3, 6.3 "Ad Delivered"). This is a different metric from the impressions above, which the Swarmcast player reports as it plays (6.3 "Client-Confirmed Ad Play"); the two are not added together. Total delivered: <strong>${esc(s.delivered)}</strong>, refunded as invalid: ${esc(s.refunded)}.</p>
<div class="table-wrap"><table><thead><tr><th scope="col">${esc(what)}</th><th scope="col" class="num">Delivered (server-side)</th><th scope="col" class="num">Refunded</th></tr></thead><tbody>${s.groups
    .map(
      (g) =>
        `<tr><td>${esc(g.group)}</td><td class="num">${esc(g.delivered)}</td><td class="num">${esc(g.refunded)}</td></tr>`,
    )
    .join('')}</tbody></table></div>`;
}

/** Where the signed daily statements of these campaigns are (docs/verifiable-statements.md). */
function statementsNote(r: AdvertiserReport, pc: PageContext): string {
  if (r.campaigns.length === 0) return '';
  const last = day(r.period.to - 1);
  const links = r.campaigns
    .map(
      (c) =>
        `<a href="/api/measure/statements/campaign/${encodeURIComponent(c.campaignId)}?day=${last}">${esc(label(pc, c.campaignId))}, ${last}</a>`,
    )
    .join(' · ');
  return `<h2>Signed daily statements</h2>
<p class="meta">Each day's invoice line per campaign, signed by this node with every counted impression as an opaque leaf and its Merkle proof; issued two hours after the day ends (UTC). Check one without trusting us: <code>swarmcast verify-statement statement.json</code> (keys at <a href="/.well-known/swarmcast-statements.json">/.well-known/swarmcast-statements.json</a>). Any day: <code>?day=YYYY-MM-DD</code>. ${links}</p>`;
}

export function advertiserPage(r: AdvertiserReport, csvHref: string, pc: PageContext = {}): string {
  const k = r.k;
  const cur = pc.currency ?? 'EUR';
  const money = (m: number) => formatMoney(m, cur);
  const days = periodDays(r.period);
  const rows = r.campaigns
    .map((c) => {
      const d = c.delivery;
      const n = (lbl: string, v: string) => `<td class="num" data-label="${lbl}">${v}</td>`;
      return `<tr><td>${esc(label(pc, c.campaignId))}</td>${n('Impressions', esc(d.impressions))}${n('Starts', esc(d.starts))}${n('25 %', esc(d.firstQuartile))}
${n('50 %', esc(d.midpoint))}${n('75 %', esc(d.thirdQuartile))}${n('Complete', esc(d.complete))}${n('Completion %', esc(pct(d.completionRate)))}
${n('Clicks', esc(d.clicks))}${n('Reach', cell(d.reach, k))}${n('Frequency', cell(d.frequency === null ? null : Math.round(d.frequency * 100) / 100, k))}
${n('Spend', esc(money(c.spendMicros)))}${n('IVT %', esc(pct(d.ivtShare)))}</tr>`;
    })
    .join('\n');
  const impressionsOn = (d: number) =>
    r.campaigns.reduce((s, c) => s + (c.impressionsByDay.find((x) => x.day === d)?.impressions ?? 0), 0);
  const spendOn = (d: number) =>
    r.campaigns.reduce(
      (s, c) => s + c.spendByDay.filter((x) => x.day === d).reduce((a, x) => a + x.micros, 0),
      0,
    );
  const body = `${periodForm(r.period, pc.self ?? `/measure/advertiser/${encodeURIComponent(r.advertiserId)}`)}
<ul class="stats"><li><b>${esc(r.totals.impressions)}</b><span>counted impressions</span></li>
<li><b>${esc(money(r.totals.spendMicros))}</b><span>spend</span></li>
<li><b>${esc(pct(r.totals.ivtShare) ?? 0)} %</b><span>invalid traffic, not charged</span></li></ul>
${r.campaigns.some((c) => c.delivery.reach === null) ? kNote(k) : ''}
${barChart('delivery', 'Counted impressions per day', days, impressionsOn)}
${barChart('spend', `Spend per day (${cur})`, days, spendOn, money)}
<p class="meta">An impression counts once per signed decision, when its beacon is genuine, in order, in time and not invalid traffic. IVT share is the share of beacons kept as invalid.</p>
<div class="table-wrap"><table class="stack-sm"><thead><tr><th scope="col">Campaign</th><th scope="col" class="num">Impressions</th><th scope="col" class="num">Starts</th><th scope="col" class="num">25 %</th><th scope="col" class="num">50 %</th><th scope="col" class="num">75 %</th><th scope="col" class="num">Complete</th><th scope="col" class="num">Completion %</th><th scope="col" class="num">Clicks</th><th scope="col" class="num">Reach</th><th scope="col" class="num">Frequency</th><th scope="col" class="num">Spend</th><th scope="col" class="num">IVT %</th></tr></thead>
<tbody>${rows || '<tr><td colspan="13">No delivery in this period.</td></tr>'}</tbody></table></div>${serverSideSection(r.serverSide, 'Campaign')}
${statementsNote(r, pc)}`;
  return frame(
    `Delivery: ${label(pc, r.advertiserId)}`,
    `Measured delivery, ${esc(day(r.period.from))} to ${esc(day(r.period.to - 1))}.`,
    body,
    csvHref,
    pc,
    [['/ads/dashboard', 'Campaigns']],
  );
}

export function adminPage(r: AdminReport, csvHref: string, pc: PageContext = {}): string {
  const invalid = r.events.filter((e) => e.reason !== 'valid');
  const body = `${periodForm(r.period, pc.self ?? '/measure/admin')}
<ul class="stats"><li><b>${esc(r.streamLag ?? 'unknown')}</b><span>events waiting in the stream (lag)</span></li>
<li><b>${r.books.balanced ? 'balanced' : 'NOT BALANCED'}</b><span>books (total ${esc(r.books.total)})</span></li>
<li><b>${esc(invalid.reduce((s, e) => s + e.count, 0))}</b><span>events kept as invalid traffic</span></li></ul>
<h2>Invalid traffic by reason</h2>
<div class="table-wrap"><table><thead><tr><th scope="col">Stream</th><th scope="col">Reason</th><th scope="col" class="num">Events</th></tr></thead><tbody>${
    invalid
      .map(
        (e) =>
          `<tr><td>${esc(e.subject)}</td><td>${esc(e.reason)}</td><td class="num">${esc(e.count)}</td></tr>`,
      )
      .join('') || '<tr><td colspan="3">None in this period.</td></tr>'
  }</tbody></table></div>
<h2>All events</h2>
<div class="table-wrap"><table><thead><tr><th scope="col">Stream</th><th scope="col">Reason</th><th scope="col" class="num">Events</th></tr></thead><tbody>${r.events
    .map(
      (e) =>
        `<tr><td>${esc(e.subject)}</td><td>${esc(e.reason)}</td><td class="num">${esc(e.count)}</td></tr>`,
    )
    .join('')}</tbody></table></div>
<h2>Origin requests left out of downloads</h2>
<div class="table-wrap"><table><tbody>${Object.entries(r.downloadFilters)
    .map(([reason, n]) => `<tr><td>${esc(words[reason] ?? reason)}</td><td class="num">${esc(n)}</td></tr>`)
    .join('')}</tbody></table></div>
<details class="advanced"><summary>Collector counters</summary><pre>${esc(JSON.stringify(r.collector, null, 2))}</pre></details>`;
  return frame(
    'Measurement',
    `Invalid traffic, stream lag and the books, ${esc(day(r.period.from))} to ${esc(day(r.period.to - 1))}.`,
    body,
    csvHref,
    pc,
    [['/admin', 'Admin']],
  );
}

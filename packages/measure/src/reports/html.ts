import { formatMicros } from '@swarmcast/ledger';
import { escapeHtml, raw, page as sitePage, type Viewer } from '@swarmcast/platform';
import type { AdvertiserReport } from './advertiser-report.ts';
import type { CreatorReport, ListenerCells } from './creator-report.ts';
import type { AdminReport } from './reports.ts';

/**
 * Server-rendered dashboard pages. Every outside string goes through `esc`; chart data
 * travels as JSON in a `<script type="application/json">` with `<` escaped, read by a
 * small inline script that draws it with uPlot (served from /measure/assets/).
 * Suppressed cells (fewer than k listeners) are shown as "<k" and as gaps in charts.
 */
export const esc = (s: unknown): string => escapeHtml(String(s));

export interface ChartSpec {
  id: string;
  title: string;
  /** "time": x is ms since the epoch; "linear": x is a plain number. */
  x: 'time' | 'linear';
  xs: number[];
  series: { label: string; values: (number | null)[] }[];
}

const jsonForScript = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');

function cell(v: number | null, k: number): string {
  return v === null ? `<span title="suppressed: fewer than ${k} listeners">&lt;${k}</span>` : esc(v);
}

const pct = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 10);

/** What the site header needs: who is looking, for its navigation and log-out. */
export interface PageContext {
  viewer?: Viewer | null | undefined;
}

function page(
  title: string,
  body: string,
  charts: ChartSpec[],
  csvHref: string,
  pc: PageContext = {},
): string {
  return sitePage(
    {
      title,
      viewer: pc.viewer,
      head: raw('<link rel="stylesheet" href="/measure/assets/uPlot.min.css">'),
      ...(pc.viewer?.role === 'creator' && pc.viewer.id
        ? { current: `/measure/creator/${encodeURIComponent(pc.viewer.id)}` }
        : {}),
    },
    raw(`<h1>${esc(title)}</h1>
<p class="meta"><a href="${esc(csvHref)}">Download CSV</a></p>
${body}
<div id="charts"></div>
<script type="application/json" id="chart-data">${jsonForScript(charts)}</script>
<script src="/measure/assets/uPlot.iife.min.js"></script>
<script>
(function () {
  var specs = JSON.parse(document.getElementById('chart-data').textContent);
  var colors = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
  specs.forEach(function (s) {
    var div = document.createElement('div');
    div.className = 'chart';
    div.id = s.id;
    document.getElementById('charts').appendChild(div);
    var xs = s.x === 'time' ? s.xs.map(function (x) { return x / 1000; }) : s.xs;
    var data = [xs].concat(s.series.map(function (x) { return x.values; }));
    new uPlot({
      title: s.title, width: Math.min(900, window.innerWidth - 40), height: 260,
      scales: { x: { time: s.x === 'time' } },
      series: [{}].concat(s.series.map(function (x, i) {
        return { label: x.label, stroke: colors[i % colors.length], width: 2, spanGaps: false };
      }))
    }, data, div);
  });
})();
</script>`),
  );
}

/** Weekly and monthly unique listeners as table rows; an upper bound is shown as "≤ n". */
function listenerRows(label: string, cells: ListenerCells, k: number): string {
  return (['week', 'month'] as const)
    .flatMap((period) =>
      cells[period].map(
        (c) =>
          `<tr><td>${esc(label)}</td><td>${period} of ${esc(new Date(c.day).toISOString().slice(0, 10))}</td><td>${
            c.exact || c.value === null ? '' : '<span title="upper bound: see the methodology">≤ </span>'
          }${cell(c.value, k)}</td></tr>`,
      ),
    )
    .join('');
}

/** Union of the days in several day-keyed lists, sorted. */
function days(...lists: { day: number }[][]): number[] {
  return [...new Set(lists.flat().map((d) => d.day))].sort((a, b) => a - b);
}

export function creatorPage(r: CreatorReport, csvHref: string, pc: PageContext = {}): string {
  const k = r.k;
  const rows = r.episodes
    .map(
      (e) => `<tr><td>${esc(e.showId)} / ${esc(e.title || e.episodeId)}</td><td>${cell(e.downloads, k)}</td>
<td>${cell(e.plays, k)}</td><td>${cell(pct(e.corroboratedShare), k)}</td><td>${esc(pct(e.p2p.share))}</td>
<td>${esc(e.ads.impressions)}</td><td>${esc(formatMicros(e.revenueMicros))}</td></tr>`,
    )
    .join('\n');
  const allDays = days(...r.episodes.map((e) => e.downloadsByDay), ...r.episodes.map((e) => e.revenueByDay));
  const charts: ChartSpec[] = [
    {
      id: 'downloads',
      title: `Downloads per day (IAB v2.3, ${r.window} window)`,
      x: 'time',
      xs: allDays,
      series: r.episodes.map((e) => ({
        label: e.title || e.episodeId,
        values: allDays.map((d) => {
          const c = e.downloadsByDay.find((x) => x.day === d);
          return c ? c.value : 0;
        }),
      })),
    },
    {
      id: 'show-downloads',
      title: `Downloads per day per show (${r.window} window)`,
      x: 'time',
      xs: days(...r.shows.map((sh) => sh.downloadsByDay)),
      series: r.shows.map((sh) => ({
        label: sh.showId,
        values: days(...r.shows.map((x) => x.downloadsByDay)).map((d) => {
          const c = sh.downloadsByDay.find((x) => x.day === d);
          return c ? c.value : 0;
        }),
      })),
    },
    {
      id: 'plays',
      title: 'Plays per day (Swarmcast player)',
      x: 'time',
      xs: days(...r.episodes.map((e) => e.playsByDay)),
      series: r.episodes.map((e) => ({
        label: e.title || e.episodeId,
        values: days(...r.episodes.map((x) => x.playsByDay)).map((d) => {
          const c = e.playsByDay.find((x) => x.day === d);
          return c ? c.value : 0;
        }),
      })),
    },
    {
      id: 'p2p',
      title: 'P2P offload per day: % of bytes from peers',
      x: 'time',
      xs: days(...r.episodes.map((e) => e.p2pByDay)),
      series: r.episodes.map((e) => ({
        label: e.title || e.episodeId,
        values: days(...r.episodes.map((x) => x.p2pByDay)).map((d) => {
          const c = e.p2pByDay.find((x) => x.day === d);
          return c ? pct(c.share) : null;
        }),
      })),
    },
    {
      id: 'listeners',
      title: 'Unique listeners per day',
      x: 'time',
      xs: days(...r.episodes.map((e) => e.listeners.day)),
      series: r.episodes.map((e) => {
        const xs = days(...r.episodes.map((x) => x.listeners.day));
        return {
          label: e.title || e.episodeId,
          values: xs.map((d) => e.listeners.day.find((c) => c.day === d)?.value ?? 0),
        };
      }),
    },
    {
      id: 'listen-through',
      title: 'Listen-through: share of plays reaching each 10 % of the episode',
      x: 'linear',
      xs: [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
      series: r.episodes.map((e) => ({
        label: e.title || e.episodeId,
        values: e.listenThrough
          ? e.listenThrough.map((x) => Math.round(x * 1000) / 10)
          : new Array(11).fill(null),
      })),
    },
    {
      id: 'swarm',
      title: 'Swarm health: distinct seeders and leechers per day',
      x: 'time',
      xs: days(...r.episodes.map((e) => e.swarm)),
      series: [
        {
          label: 'seeders',
          values: days(...r.episodes.map((e) => e.swarm)).map((d) =>
            r.episodes.reduce((s, e) => s + (e.swarm.find((x) => x.day === d)?.seeders ?? 0), 0),
          ),
        },
        {
          label: 'leechers',
          values: days(...r.episodes.map((e) => e.swarm)).map((d) =>
            r.episodes.reduce((s, e) => s + (e.swarm.find((x) => x.day === d)?.leechers ?? 0), 0),
          ),
        },
      ],
    },
    {
      id: 'revenue',
      title: 'Ad revenue per day (units)',
      x: 'time',
      xs: allDays,
      series: r.episodes.map((e) => ({
        label: e.title || e.episodeId,
        values: allDays.map(
          (d) => e.revenueByDay.filter((x) => x.day === d).reduce((s, x) => s + x.micros, 0) / 1e6,
        ),
      })),
    },
  ];
  const body = `<p class="note">Period ${esc(new Date(r.period.from).toISOString())} to ${esc(new Date(r.period.to).toISOString())}.
Downloads use the <strong>${esc(r.window)}</strong> de-duplication window (IAB Podcast Measurement Technical Guidelines v2.3, 5.5.1).
Cells behind fewer than ${esc(k)} listeners are suppressed.</p>
<div class="table-wrap"><table><thead><tr><th>episode</th><th>downloads</th><th>plays</th><th>corroborated %</th><th>P2P offload %</th><th>ad impressions</th><th>revenue</th></tr></thead>
<tbody>${rows}</tbody>
<tfoot><tr><th>total</th><th>${cell(r.totals.downloads, k)}</th><th>${cell(r.totals.plays, k)}</th><th></th><th></th><th></th><th>${esc(formatMicros(r.totals.revenueMicros))}</th></tr></tfoot></table></div>
<h2>Per show</h2>
<div class="table-wrap"><table><thead><tr><th>show</th><th>downloads</th><th>plays</th><th>revenue</th></tr></thead><tbody>${r.shows
    .map(
      (sh) =>
        `<tr><td>${esc(sh.showId)}</td><td>${cell(sh.downloads, k)}</td><td>${cell(sh.plays, k)}</td><td>${esc(formatMicros(sh.revenueMicros))}</td></tr>`,
    )
    .join('')}</tbody></table></div>
<h2>Unique listeners per week and month</h2>
<p class="note">Exact for a calendar month and for a week inside one month. "≤" marks an upper bound:
listeners who withhold the listener id (Do-Not-Track, GPC) have a key that changes every day, and the
listener id changes on the 1st of each month, so such a person may be counted more than once.</p>
<div class="table-wrap"><table><thead><tr><th>show / episode</th><th>period</th><th>listeners</th></tr></thead><tbody>${[
    ...r.shows.map((sh) => listenerRows(`show ${sh.showId}`, sh.listeners, k)),
    ...r.episodes.map((e) => listenerRows(`${e.showId} / ${e.title || e.episodeId}`, e.listeners, k)),
  ].join('')}</tbody></table></div>
<h2>Left out of the download count</h2>
<div class="table-wrap"><table><tbody>${Object.entries(r.filtered)
    .map(([reason, n]) => `<tr><td>${esc(reason)}</td><td>${esc(n)}</td></tr>`)
    .join('')}</tbody></table></div>`;
  return page(`Creator dashboard: ${r.creatorId}`, body, charts, csvHref, pc);
}

export function advertiserPage(r: AdvertiserReport, csvHref: string, pc: PageContext = {}): string {
  const k = r.k;
  const rows = r.campaigns
    .map((c) => {
      const d = c.delivery;
      return `<tr><td>${esc(c.campaignId)}</td><td>${esc(d.impressions)}</td><td>${esc(d.starts)}</td><td>${esc(d.firstQuartile)}</td>
<td>${esc(d.midpoint)}</td><td>${esc(d.thirdQuartile)}</td><td>${esc(d.complete)}</td><td>${esc(pct(d.completionRate))}</td>
<td>${esc(d.clicks)}</td><td>${cell(d.reach, k)}</td><td>${cell(d.frequency === null ? null : Math.round(d.frequency * 100) / 100, k)}</td>
<td>${esc(formatMicros(c.spendMicros))}</td><td>${esc(pct(d.ivtShare))}</td></tr>`;
    })
    .join('\n');
  const xs = days(...r.campaigns.map((c) => c.impressionsByDay), ...r.campaigns.map((c) => c.spendByDay));
  const charts: ChartSpec[] = [
    {
      id: 'delivery',
      title: 'Counted impressions per day',
      x: 'time',
      xs,
      series: r.campaigns.map((c) => ({
        label: c.campaignId,
        values: xs.map((d) => c.impressionsByDay.find((x) => x.day === d)?.impressions ?? 0),
      })),
    },
    {
      id: 'spend',
      title: 'Spend per day (units)',
      x: 'time',
      xs,
      series: r.campaigns.map((c) => ({
        label: c.campaignId,
        values: xs.map(
          (d) => c.spendByDay.filter((x) => x.day === d).reduce((s, x) => s + x.micros, 0) / 1e6,
        ),
      })),
    },
  ];
  const body = `<p class="note">An impression counts once per signed decision, when its beacon is genuine, in order, in time and not invalid traffic. IVT share is the share of beacons kept as invalid.</p>
<div class="table-wrap"><table><thead><tr><th>campaign</th><th>impressions</th><th>starts</th><th>25 %</th><th>50 %</th><th>75 %</th><th>complete</th><th>completion %</th><th>clicks</th><th>reach</th><th>frequency</th><th>spend</th><th>IVT %</th></tr></thead>
<tbody>${rows}</tbody></table></div>`;
  return page(`Advertiser dashboard: ${r.advertiserId}`, body, charts, csvHref, pc);
}

export function adminPage(r: AdminReport, csvHref: string, pc: PageContext = {}): string {
  const body = `<p>Stream lag: <strong>${esc(r.streamLag ?? 'unknown')}</strong> events waiting.
Books: <strong>${r.books.balanced ? 'balanced' : 'NOT BALANCED'}</strong> (total ${esc(r.books.total)}).</p>
<h2>Events by reason</h2>
<div class="table-wrap"><table><thead><tr><th>subject</th><th>reason</th><th>events</th></tr></thead><tbody>${r.events
    .map((e) => `<tr><td>${esc(e.subject)}</td><td>${esc(e.reason)}</td><td>${esc(e.count)}</td></tr>`)
    .join('')}</tbody></table></div>
<h2>Origin requests left out of downloads</h2>
<div class="table-wrap"><table><tbody>${Object.entries(r.downloadFilters)
    .map(([reason, n]) => `<tr><td>${esc(reason)}</td><td>${esc(n)}</td></tr>`)
    .join('')}</tbody></table></div>
<h2>Collector</h2><pre>${esc(JSON.stringify(r.collector, null, 2))}</pre>`;
  return page('Measurement admin', body, [], csvHref, pc);
}

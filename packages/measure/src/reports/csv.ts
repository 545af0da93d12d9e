import type { AdvertiserReport } from './advertiser-report.ts';
import type { CreatorReport } from './creator-report.ts';
import type { AdminReport } from './reports.ts';

/**
 * RFC 4180 fields; a text cell starting with = + - @ (a spreadsheet formula) is prefixed
 * with ' so that opening the export cannot run anything. Suppressed cells are empty.
 */
export function csvField(v: string | number | null): string {
  if (v === null) return '';
  if (typeof v === 'number') return String(v);
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export const csvRows = (rows: (string | number | null)[][]) =>
  `${rows.map((r) => r.map(csvField).join(',')).join('\r\n')}\r\n`;

const date = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** A day's figure: the (possibly suppressed) cell, or 0 when nothing was counted. */
function downloadsOn(cells: readonly { day: number; value: number | null }[], day: number): number | null {
  const cell = cells.find((d) => d.day === day);
  return cell ? cell.value : 0;
}

/**
 * One row per episode and day: downloads (in the report's window), plays, unique listeners
 * (exact for a day), bytes from peers and from the web seed, distinct seeders and leechers
 * of its torrent, revenue. Cells counting people come k-suppressed from the report (empty).
 */
export function creatorCsv(r: CreatorReport): string {
  const rows: (string | number | null)[][] = [
    [
      'date',
      'show',
      'episode',
      'title',
      `downloads_${r.window}`,
      'plays',
      'listeners',
      'bytes_from_peers',
      'bytes_from_web_seed',
      'seeders',
      'leechers',
      'revenue_micros',
    ],
  ];
  for (const e of r.episodes) {
    const days = new Set([
      ...e.downloadsByDay.map((d) => d.day),
      ...e.listeners.day.map((d) => d.day),
      ...e.playsByDay.map((d) => d.day),
      ...e.swarm.map((d) => d.day),
      ...e.revenueByDay.map((d) => d.day),
    ]);
    for (const day of [...days].sort((a, b) => a - b)) {
      const swarm = e.swarm.find((d) => d.day === day);
      const p2p = e.p2pByDay.find((d) => d.day === day);
      rows.push([
        date(day),
        e.showId,
        e.episodeId,
        e.title,
        downloadsOn(e.downloadsByDay, day),
        downloadsOn(e.playsByDay, day),
        downloadsOn(e.listeners.day, day),
        // A suppressed cell stays empty (null), not 0.
        p2p ? p2p.peers : 0,
        p2p ? p2p.webSeed : 0,
        swarm ? swarm.seeders : 0,
        swarm ? swarm.leechers : 0,
        e.revenueByDay.filter((d) => d.day === day).reduce((s, d) => s + d.micros, 0),
      ]);
    }
  }
  return csvRows(rows);
}

export function advertiserCsv(r: AdvertiserReport): string {
  const rows: (string | number | null)[][] = [['date', 'campaign', 'impressions', 'spend_micros']];
  for (const c of r.campaigns) {
    const days = new Set([...c.impressionsByDay.map((d) => d.day), ...c.spendByDay.map((d) => d.day)]);
    for (const day of [...days].sort((a, b) => a - b)) {
      rows.push([
        date(day),
        c.campaignId,
        c.impressionsByDay.find((d) => d.day === day)?.impressions ?? 0,
        c.spendByDay.filter((d) => d.day === day).reduce((s, d) => s + d.micros, 0),
      ]);
    }
  }
  return csvRows(rows);
}

export function adminCsv(r: AdminReport): string {
  return csvRows([['subject', 'reason', 'count'], ...r.events.map((e) => [e.subject, e.reason, e.count])]);
}

import type { QualifiedDownload } from '../rules/downloads.ts';
import type { PlayRow } from '../rules/play-metrics.ts';
import { type CellSum, defaultK, type Suppressed, suppress, suppressComplements } from '../rules/suppress.ts';
import type { WindowKind } from '../rules/windows.ts';
import { csvRows } from './csv.ts';
import type { Period } from './load.ts';

/**
 * Audience breakdowns the way creators read them elsewhere (Castopod, OP3): counted downloads
 * (IAB v2.3, in the report's window) by app, device class, operating system, country (from the
 * trusted proxy's header) and UTC hour of the day; valid plays in the Swarmcast player by the
 * same five (the classes the collector derived from the player's user agent, the agent itself
 * never kept; the country of the beacon's trusted proxy; the hour the play started). Each cell goes through `suppress` with the distinct
 * people behind it (a value fewer than k stand behind is null), then `suppressComplements`:
 * each dimension's cells add up to the total, so no hidden cell may be their difference.
 */
export const audienceDimensions = ['app', 'device', 'os', 'country', 'hour'] as const;
export type AudienceDimension = (typeof audienceDimensions)[number];
export const playDimensions = ['app', 'device', 'os', 'country', 'hour'] as const;
export type PlayDimension = (typeof playDimensions)[number];

export interface AudienceCell {
  value: string;
  downloads: Suppressed<number>;
}

export interface AudienceBreakdown {
  creatorId: string;
  /** Null for every episode of the creator. */
  episodeId: string | null;
  period: Period;
  window: WindowKind;
  k: number;
  total: Suppressed<number>;
  by: Record<AudienceDimension, AudienceCell[]>;
}

export interface PlayCell {
  value: string;
  plays: Suppressed<number>;
}

export interface PlayAudience {
  metric: 'plays';
  creatorId: string;
  episodeId: string | null;
  period: Period;
  k: number;
  total: Suppressed<number>;
  by: Record<PlayDimension, PlayCell[]>;
}

const cellValue: Record<AudienceDimension, (q: QualifiedDownload) => string> = {
  app: (q) => q.client.app || 'unknown',
  device: (q) => q.client.device || 'unknown',
  os: (q) => q.client.os || 'unknown',
  country: (q) => q.country ?? 'unknown',
  hour: (q) => String(new Date(q.time).getUTCHours()).padStart(2, '0'),
};

const playValue: Record<PlayDimension, (p: PlayRow) => string> = {
  app: (p) => p.client?.app || 'unknown',
  device: (p) => p.client?.device || 'unknown',
  os: (p) => p.client?.os || 'unknown',
  country: (p) => p.country ?? 'unknown',
  hour: (p) => String(new Date(p.startedAt).getUTCHours()).padStart(2, '0'),
};

/**
 * The one breakdown: items counted per value of each dimension, each cell suppressed by the
 * distinct people behind it, then complementary suppression over each dimension's sum; values
 * largest first (hours in order), suppressed ones last so that position does not tell their size.
 */
function breakdown<I, D extends string>(
  items: readonly I[],
  dims: readonly D[],
  valueFor: Record<D, (i: I) => string>,
  who: (i: I) => string,
  k: number,
): { total: Suppressed<number>; by: Record<D, { value: string; n: Suppressed<number> }[]> } {
  const by = {} as Record<D, { value: string; n: Suppressed<number> }[]>;
  for (const dim of dims) {
    const cells = new Map<string, { n: number; who: Set<string> }>();
    for (const it of items) {
      const v = valueFor[dim](it);
      const c = cells.get(v) ?? { n: 0, who: new Set() };
      c.n++;
      c.who.add(who(it));
      cells.set(v, c);
    }
    by[dim] = [...cells].map(([value, c]) => ({ value, n: suppress(c.n, c.who.size, k) }));
  }
  const totals = { total: suppress(items.length, new Set(items.map(who)).size, k) };
  suppressComplements(
    dims.map(
      (dim): CellSum => ({
        total: { holder: totals, field: 'total' },
        parts: by[dim].map((c) => ({ holder: c, field: 'n' })),
      }),
    ),
  );
  for (const dim of dims)
    by[dim].sort((a, b) =>
      dim === 'hour'
        ? a.value.localeCompare(b.value)
        : (b.n ?? -1) - (a.n ?? -1) || a.value.localeCompare(b.value),
    );
  return { total: totals.total, by };
}

/** Pure: the counted downloads of the period (already in one window) broken down. */
export function buildAudience(o: {
  creatorId: string;
  episodeId: string | null;
  period: Period;
  window: WindowKind;
  downloads: readonly QualifiedDownload[];
  k?: number;
}): AudienceBreakdown {
  const k = o.k ?? defaultK;
  const b = breakdown(o.downloads, audienceDimensions, cellValue, (q) => q.audienceKey, k);
  const by = {} as Record<AudienceDimension, AudienceCell[]>;
  for (const dim of audienceDimensions) by[dim] = b.by[dim].map((c) => ({ value: c.value, downloads: c.n }));
  return {
    creatorId: o.creatorId,
    episodeId: o.episodeId,
    period: o.period,
    window: o.window,
    k,
    total: b.total,
    by,
  };
}

/** Pure: the valid plays of the period by app, device class, OS, country and hour (a person: listener id, else audience key). */
export function buildPlayAudience(o: {
  creatorId: string;
  episodeId: string | null;
  period: Period;
  plays: readonly PlayRow[];
  k?: number;
}): PlayAudience {
  const k = o.k ?? defaultK;
  const valid = o.plays.filter((p) => !p.invalid);
  const b = breakdown(valid, playDimensions, playValue, (p) => p.listenerId ?? p.audienceKey, k);
  const by = {} as Record<PlayDimension, PlayCell[]>;
  for (const dim of playDimensions) by[dim] = b.by[dim].map((c) => ({ value: c.value, plays: c.n }));
  return {
    metric: 'plays',
    creatorId: o.creatorId,
    episodeId: o.episodeId,
    period: o.period,
    k,
    total: b.total,
    by,
  };
}

/** One row per dimension and value; a suppressed cell is empty. */
export function audienceCsv(a: AudienceBreakdown): string {
  const rows: (string | number | null)[][] = [['dimension', 'value', `downloads_${a.window}`]];
  for (const dim of audienceDimensions) for (const c of a.by[dim]) rows.push([dim, c.value, c.downloads]);
  return csvRows(rows);
}

/** One row per dimension and value; a suppressed cell is empty. */
export function playAudienceCsv(a: PlayAudience): string {
  const rows: (string | number | null)[][] = [['dimension', 'value', 'plays']];
  for (const dim of playDimensions) for (const c of a.by[dim]) rows.push([dim, c.value, c.plays]);
  return csvRows(rows);
}

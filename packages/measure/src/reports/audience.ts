import type { QualifiedDownload } from '../rules/downloads.ts';
import { type CellSum, defaultK, type Suppressed, suppress, suppressComplements } from '../rules/suppress.ts';
import type { WindowKind } from '../rules/windows.ts';
import { csvRows } from './csv.ts';
import type { Period } from './load.ts';

/**
 * Audience breakdowns the way creators read them elsewhere (Castopod, OP3): counted downloads
 * (IAB v2.3, in the report's window) by app, device class, operating system, country (from the
 * trusted proxy's header) and UTC hour of the day. Each cell goes through `suppress` with the
 * distinct audience keys behind it: a value fewer than k people stand behind is null.
 */
export const audienceDimensions = ['app', 'device', 'os', 'country', 'hour'] as const;
export type AudienceDimension = (typeof audienceDimensions)[number];

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

const cellValue: Record<AudienceDimension, (q: QualifiedDownload) => string> = {
  app: (q) => q.client.app || 'unknown',
  device: (q) => q.client.device || 'unknown',
  os: (q) => q.client.os || 'unknown',
  country: (q) => q.country ?? 'unknown',
  hour: (q) => String(new Date(q.time).getUTCHours()).padStart(2, '0'),
};

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
  const by = {} as Record<AudienceDimension, AudienceCell[]>;
  for (const dim of audienceDimensions) {
    const cells = new Map<string, { n: number; who: Set<string> }>();
    for (const q of o.downloads) {
      const v = cellValue[dim](q);
      const c = cells.get(v) ?? { n: 0, who: new Set() };
      c.n++;
      c.who.add(q.audienceKey);
      cells.set(v, c);
    }
    by[dim] = [...cells].map(([value, c]) => ({ value, downloads: suppress(c.n, c.who.size, k) }));
  }
  const totals = {
    total: suppress(o.downloads.length, new Set(o.downloads.map((q) => q.audienceKey)).size, k),
  };
  // Each dimension's cells add up to the total: no hidden cell may be their difference.
  suppressComplements(
    audienceDimensions.map(
      (dim): CellSum => ({
        total: { holder: totals, field: 'total' },
        parts: by[dim].map((c) => ({ holder: c, field: 'downloads' })),
      }),
    ),
  );
  const sorted = {} as Record<AudienceDimension, AudienceCell[]>;
  for (const dim of audienceDimensions)
    sorted[dim] = by[dim]
      // Largest first (hours in order); suppressed cells do not reveal their size by position.
      .sort((a, b) =>
        dim === 'hour'
          ? a.value.localeCompare(b.value)
          : (b.downloads ?? -1) - (a.downloads ?? -1) || a.value.localeCompare(b.value),
      )
      .map(({ value, downloads }) => ({ value, downloads }));
  return {
    creatorId: o.creatorId,
    episodeId: o.episodeId,
    period: o.period,
    window: o.window,
    k,
    total: totals.total,
    by: sorted,
  };
}

/** One row per dimension and value; a suppressed cell is empty. */
export function audienceCsv(a: AudienceBreakdown): string {
  const rows: (string | number | null)[][] = [['dimension', 'value', `downloads_${a.window}`]];
  for (const dim of audienceDimensions) for (const c of a.by[dim]) rows.push([dim, c.value, c.downloads]);
  return csvRows(rows);
}

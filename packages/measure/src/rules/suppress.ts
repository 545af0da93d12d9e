/**
 * Small-cell suppression: a report cell describing fewer than k distinct listeners could
 * single a person out, so it is replaced by null ("suppressed") before leaving the server.
 *
 * This is the one place that decides it: every cell of every report, breakdown and CSV that
 * counts people (or is derived from what fewer than k people did: their bytes, their shares,
 * their listen-through) passes through `suppress` with the number of distinct people behind
 * it. k is 5; an operator may raise it, never lower it. Exempt, and said so where they appear:
 * the quantities money is computed from (counted impressions and quartiles, spend, revenue,
 * server-side deliveries), which an invoice must show to add up, and the operator's counts of
 * filtered events by reason. test/suppression.test.ts walks every report shape and CSV.
 */
export const defaultK = 5;

export type Suppressed<T> = T | null;

/**
 * The value when at least k (never fewer than 5) people stand behind it, else null. A cell
 * nobody stands behind hides nobody and is shown (an episode nobody played: 0 plays); hiding it
 * would only look like a small cell, and the sums around it would give it away as 0 anyway.
 */
export function suppress<T>(value: T, people: number, k = defaultK): Suppressed<T> {
  return people === 0 || people >= Math.max(k, defaultK) ? value : null;
}

/** Every field of a record of figures about the same `people`, each through `suppress`. */
export function suppressEach<T extends Record<string, unknown>>(
  figures: T,
  people: number,
  k = defaultK,
): { [F in keyof T]: Suppressed<T[F]> } {
  const out = {} as { [F in keyof T]: Suppressed<T[F]> };
  for (const f of Object.keys(figures) as (keyof T)[]) out[f] = suppress(figures[f], people, k);
  return out;
}

/** A report cell in place, `holder[field]` (null when hidden). */
export interface CellRef {
  holder: object;
  field: string;
  /** Cells that would give this one away if left visible beside it (its share, its bytes' twin): hidden with it. */
  with?: readonly CellRef[];
}

/** A sum a reader can check in a report: `total` is the sum of `parts`. */
export interface CellSum {
  total: CellRef;
  parts: readonly CellRef[];
}

const cellValue = (c: CellRef): unknown => (c.holder as Record<string, unknown>)[c.field];
const hideCell = (c: CellRef): void => {
  (c.holder as Record<string, unknown>)[c.field] = null;
  for (const w of c.with ?? []) hideCell(w);
};

/**
 * Complementary suppression: after `suppress` has hidden the small cells, a hidden cell must not
 * come back by arithmetic on what is shown (a total less its visible parts). For every sum a report
 * shows, the one function every report shape calls with its sums: no sum may have exactly one
 * hidden member, so while one has, the smallest visible member of it (a part or the total) is
 * hidden too; that can leave another sum with one hidden member, so it runs to a fixed point.
 * Sums that share cells (an episode-by-day table with both margins) can still pin a cell down
 * together when each has two hidden members, so a last pass solves the sums as a linear system
 * over the hidden cells and, for any hidden cell the system determines, hides one more visible
 * cell beside it. Hidden only grows, so it ends. Returns how many cells it hid.
 */
export function suppressComplements(sums: readonly CellSum[]): number {
  // One identity per (holder, field): the same cell appears in several sums.
  const ids = new Map<object, Map<string, number>>();
  const cells: CellRef[] = [];
  const id = (c: CellRef): number => {
    let byField = ids.get(c.holder);
    if (!byField) {
      byField = new Map();
      ids.set(c.holder, byField);
    }
    let n = byField.get(c.field);
    if (n === undefined) {
      n = cells.length;
      cells.push(c);
      byField.set(c.field, n);
    }
    return n;
  };
  // Each sum as members with their sign: total - sum(parts) = 0.
  const eqs = sums.map((s) => [
    { cell: id(s.total), sign: 1 },
    ...s.parts.map((p) => ({ cell: id(p), sign: -1 })),
  ]);
  const hidden = (n: number) => cellValue(cells[n]!) === null;
  let count = 0;
  const hideSmallestVisible = (members: readonly number[]): boolean => {
    let best = -1;
    for (const n of members) {
      const v = cellValue(cells[n]!);
      if (typeof v !== 'number') continue;
      if (best < 0 || v < (cellValue(cells[best]!) as number)) best = n;
    }
    if (best < 0) return false;
    hideCell(cells[best]!);
    count++;
    return true;
  };
  for (;;) {
    let changed = true;
    while (changed) {
      changed = false;
      for (const eq of eqs) {
        const members = eq.map((m) => m.cell);
        if (members.filter(hidden).length === 1 && hideSmallestVisible(members)) changed = true;
      }
    }
    const pinned = determined(eqs, hidden);
    if (pinned === null) return count;
    // One more visible cell in a sum with the determined one (else in any sum touching a hidden cell).
    const near = eqs.filter((eq) => eq.some((m) => m.cell === pinned));
    const touching = eqs.filter((eq) => eq.some((m) => hidden(m.cell)));
    if (
      !hideSmallestVisible(near.flat().map((m) => m.cell)) &&
      !hideSmallestVisible(touching.flat().map((m) => m.cell))
    )
      return count;
  }
}

/**
 * A hidden cell whose value the sums determine, or null. Row-reduces the sums restricted to the
 * hidden cells (the visible ones are known constants): a hidden cell is determined when its unit
 * vector lies in the row space, i.e. it is a pivot whose reduced row has no free cell in it.
 */
function determined(
  eqs: readonly { cell: number; sign: number }[][],
  hidden: (n: number) => boolean,
): number | null {
  const cols = [...new Set(eqs.flat().map((m) => m.cell))].filter(hidden);
  if (cols.length === 0) return null;
  const col = new Map(cols.map((c, i) => [c, i]));
  const rows: number[][] = [];
  for (const eq of eqs) {
    const r = new Array<number>(cols.length).fill(0);
    let any = false;
    for (const m of eq) {
      const i = col.get(m.cell);
      if (i !== undefined) {
        r[i]! += m.sign;
        any = true;
      }
    }
    if (any) rows.push(r);
  }
  const eps = 1e-9;
  const pivots: { row: number; col: number }[] = [];
  let top = 0;
  for (let c = 0; c < cols.length && top < rows.length; c++) {
    let p = top;
    for (let r = top + 1; r < rows.length; r++) if (Math.abs(rows[r]![c]!) > Math.abs(rows[p]![c]!)) p = r;
    if (Math.abs(rows[p]![c]!) < eps) continue;
    [rows[top], rows[p]] = [rows[p]!, rows[top]!];
    const pr = rows[top]!;
    const pv = pr[c]!;
    for (let j = 0; j < pr.length; j++) pr[j]! /= pv;
    for (let r = 0; r < rows.length; r++) {
      if (r === top) continue;
      const f = rows[r]![c]!;
      if (Math.abs(f) < eps) continue;
      for (let j = 0; j < pr.length; j++) rows[r]![j]! -= f * pr[j]!;
    }
    pivots.push({ row: top, col: c });
    top++;
  }
  for (const { row, col: c } of pivots) {
    if (rows[row]!.every((x, j) => j === c || Math.abs(x) < eps)) return cols[c]!;
  }
  return null;
}

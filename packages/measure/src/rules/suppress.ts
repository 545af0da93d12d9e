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

/** The value when at least k (never fewer than 5) people stand behind it, else null. */
export function suppress<T>(value: T, people: number, k = defaultK): Suppressed<T> {
  return people >= Math.max(k, defaultK) ? value : null;
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

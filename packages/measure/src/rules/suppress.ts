/**
 * Small-cell suppression: a report cell describing fewer than k distinct listeners could
 * single a person out, so it is replaced by null ("suppressed") before leaving the server.
 */
export const defaultK = 5;

export type Suppressed<T> = T | null;

/** The value when at least k listeners stand behind it, else null. */
export function suppress<T>(value: T, listeners: number, k = defaultK): Suppressed<T> {
  return listeners >= k ? value : null;
}

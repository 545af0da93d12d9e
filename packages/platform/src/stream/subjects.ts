/**
 * Subject filters of ConsumeOptions: an exact subject ("fact.download") or a prefix ending
 * in "." ("fact." matches "fact.download" and "fact.announce"). No filter matches all.
 */
export function subjectMatcher(filters: readonly string[] | undefined): (subject: string) => boolean {
  if (!filters || filters.length === 0) return () => true;
  const exact = new Set(filters.filter((f) => !f.endsWith('.')));
  const prefixes = filters.filter((f) => f.endsWith('.'));
  return (subject) => exact.has(subject) || prefixes.some((p) => subject.startsWith(p));
}

/** Subjects are dot-separated tokens of [A-Za-z0-9_-]; NATS gives "*", ">" and spaces meaning. */
export function validSubject(subject: string): boolean {
  return /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(subject) && subject.length <= 200;
}

/**
 * The Range header of a GET, decided against a file size (RFC 9110 section 14). Pure.
 *
 * - `none`: no Range, another unit, or a malformed value: serve the whole file (200), as
 *   the RFC says to ignore a Range the server does not understand.
 * - `single`: one satisfiable range, clamped to the file: 206 with Content-Range.
 * - `multi`: several ranges. We answer those with the whole file (200), which the RFC
 *   allows; web seeds and players ask for one range at a time.
 * - `unsatisfiable`: no range overlaps the file: 416 with `Content-Range: bytes * /size`.
 */
export type RangeDecision =
  | { kind: 'none' }
  | { kind: 'single'; start: number; end: number }
  | { kind: 'multi' }
  | { kind: 'unsatisfiable' };

const SPEC = /^(\d*)-(\d*)$/;

export function decideRange(header: string | undefined, size: number): RangeDecision {
  if (header === undefined) return { kind: 'none' };
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!m || header.length > 1024) return { kind: 'none' };
  const specs = m[1]!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (specs.length === 0) return { kind: 'none' };
  const parsed: { start: number; end: number }[] = [];
  for (const spec of specs) {
    const p = SPEC.exec(spec);
    if (!p || (p[1] === '' && p[2] === '')) return { kind: 'none' };
    if ((p[1]?.length ?? 0) > 16 || (p[2]?.length ?? 0) > 16) return { kind: 'none' };
    if (p[1] === '') {
      // Suffix: the last N bytes.
      const n = Number(p[2]);
      if (n === 0) continue;
      parsed.push({ start: Math.max(0, size - n), end: size - 1 });
      continue;
    }
    const start = Number(p[1]);
    const end = p[2] === '' ? Number.POSITIVE_INFINITY : Number(p[2]);
    if (end < start) return { kind: 'none' };
    if (start >= size) continue;
    parsed.push({ start, end: Math.min(end, size - 1) });
  }
  if (parsed.length === 0 || size === 0) return { kind: 'unsatisfiable' };
  if (specs.length > 1) return { kind: 'multi' };
  return { kind: 'single', ...parsed[0]! };
}

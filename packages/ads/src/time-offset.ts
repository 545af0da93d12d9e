/**
 * VMAP 1.0 `timeOffset` values, every form the spec allows:
 * `start`, `end`, `HH:MM:SS.mmm` (or `HH:MM:SS`), `n%` (share of the content duration),
 * and `#n` (the n-th break opportunity, 1-based).
 */
import { clockTime } from './macros.ts';

export type TimeOffset =
  | { kind: 'start' }
  | { kind: 'end' }
  | { kind: 'time'; ms: number }
  | { kind: 'percent'; percent: number }
  | { kind: 'position'; n: number };

export type TimeOffsetForm = 'time' | 'percent' | 'position';

export function formatTimeOffset(o: TimeOffset): string {
  switch (o.kind) {
    case 'start':
    case 'end':
      return o.kind;
    case 'time':
      return clockTime(o.ms);
    case 'percent':
      return `${Number(o.percent.toFixed(3))}%`;
    case 'position':
      return `#${o.n}`;
  }
}

/** Parses a timeOffset; null when it is none of the forms. */
export function parseTimeOffset(s: string): TimeOffset | null {
  if (s === 'start' || s === 'end') return { kind: s };
  let m = /^(\d{2,}):([0-5]\d):([0-5]\d)(?:\.(\d{3}))?$/.exec(s);
  if (m) {
    const ms = Number(m[1]) * 3_600_000 + Number(m[2]) * 60_000 + Number(m[3]) * 1000 + Number(m[4] ?? 0);
    return { kind: 'time', ms };
  }
  m = /^(\d{1,3}(?:\.\d+)?)%$/.exec(s);
  if (m) {
    const percent = Number(m[1]);
    return percent <= 100 ? { kind: 'percent', percent } : null;
  }
  m = /^#([1-9]\d{0,5})$/.exec(s);
  if (m) return { kind: 'position', n: Number(m[1]) };
  return null;
}

/**
 * The offset of a break in the requested form. Pre- and post-rolls are `start` / `end`
 * in the time and percent forms; the position form numbers every break in content order.
 */
export function breakTimeOffset(
  b: { position: 'pre' | 'mid' | 'post'; offsetMs: number },
  indexInOrder: number,
  durationMs: number,
  form: TimeOffsetForm,
): TimeOffset {
  if (form === 'position') return { kind: 'position', n: indexInOrder + 1 };
  if (b.position === 'pre') return { kind: 'start' };
  if (b.position === 'post') return { kind: 'end' };
  if (form === 'percent' && durationMs > 0) {
    return { kind: 'percent', percent: Math.min(100, (100 * b.offsetMs) / durationMs) };
  }
  return { kind: 'time', ms: b.offsetMs };
}

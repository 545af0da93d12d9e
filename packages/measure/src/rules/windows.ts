/**
 * The three de-duplication windows IAB Podcast Measurement Technical Guidelines v2.3
 * section 5.5.1 allows. Each takes the times (ms, ascending) of one listener's qualifying
 * downloads of one episode and returns those that count.
 *
 * - calendar: one per UTC calendar day;
 * - firstTouch: a 24 h window opens at a counted download; the next one counts only when
 *   it falls at or after the window's end;
 * - lastTouch: every download (counted or not) extends the window by 24 h; one counts only
 *   when it comes 24 h or more after the previous download.
 */
export type WindowKind = 'calendar' | 'firstTouch' | 'lastTouch';
export const windowKinds: readonly WindowKind[] = ['calendar', 'firstTouch', 'lastTouch'];

export const dayMs = 86_400_000;

/** UTC day number of a time. */
export const utcDay = (t: number): number => Math.floor(t / dayMs);

export function countedTimes(times: readonly number[], kind: WindowKind, windowMs = dayMs): number[] {
  const out: number[] = [];
  let mark = Number.NEGATIVE_INFINITY;
  for (const t of times) {
    switch (kind) {
      case 'calendar':
        if (utcDay(t) !== mark) {
          out.push(t);
          mark = utcDay(t);
        }
        break;
      case 'firstTouch':
        if (t >= mark + windowMs) {
          out.push(t);
          mark = t;
        }
        break;
      case 'lastTouch':
        if (t >= mark + windowMs) out.push(t);
        mark = t;
        break;
    }
  }
  return out;
}

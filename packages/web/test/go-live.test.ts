import type { CatalogContext } from '@swarmcast/catalog';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startGoLive } from '../src/node/go-live.ts';

/**
 * The go-live timer on fake timers (Date too), over a stand-in for the two queries of
 * `episodesGoingLive`: scheduled episodes as (slug, time) rows. `holdNextRead()` makes the
 * next "when is the next one" read answer what it saw, but only once released: a check
 * that read before an episode was stored and ends after it was scheduled.
 */
function world() {
  const rows: Array<{ slug: string; at: number }> = [];
  const changed: string[] = [];
  let hold: { reading: () => void; gate: Promise<void> } | null = null;
  const db = {
    async query(sql: string, params: unknown[] = []) {
      const [after, upTo] = params.map((p) => (p as Date).getTime()) as [number, number?];
      if (sql.includes('distinct')) {
        const slugs = [...new Set(rows.filter((r) => r.at > after && r.at <= upTo!).map((r) => r.slug))];
        return { rows: slugs.map((slug) => ({ slug })), affectedRows: 0 };
      }
      const later = rows.filter((r) => r.at > after).map((r) => r.at);
      const answer = {
        rows: [{ next: later.length ? new Date(Math.min(...later)) : null }],
        affectedRows: 0,
      };
      const held = hold;
      hold = null;
      if (held) {
        held.reading();
        await held.gate;
      }
      return answer;
    },
  };
  const ctx = {
    db,
    clock: { now: () => Date.now() },
    onFeedChange: (slug: string) => changed.push(slug),
  } as unknown as CatalogContext;
  return {
    rows,
    changed,
    ctx,
    /** Resolves once the held read has read; release() lets it answer. */
    holdNextRead() {
      let release = () => {};
      let reading = () => {};
      const read = new Promise<void>((r) => {
        reading = r;
      });
      hold = { reading, gate: new Promise<void>((r) => (release = r)) };
      return { read, release: () => release() };
    },
  };
}

describe('scheduled episodes go live on time', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('an episode scheduled through this process wakes the timer at its time, not at the next minute', async () => {
    vi.useFakeTimers();
    const w = world();
    const goLive = startGoLive(w.ctx);
    await vi.advanceTimersByTimeAsync(10);
    const at = new Date(Date.now() + 2500);
    w.rows.push({ slug: 'sched', at: at.getTime() });
    w.ctx.onSchedule?.(at);
    await vi.advanceTimersByTimeAsync(2400);
    expect(w.changed).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect(w.changed).toEqual(['sched']);
    goLive.stop();
  });

  it('one scheduled while a check is running is seen when that check ends', async () => {
    vi.useFakeTimers();
    const w = world();
    const held = w.holdNextRead();
    const goLive = startGoLive(w.ctx);
    await held.read;
    const at = new Date(Date.now() + 2500);
    w.rows.push({ slug: 'late', at: at.getTime() });
    w.ctx.onSchedule?.(at);
    held.release();
    await vi.advanceTimersByTimeAsync(2600);
    expect(w.changed).toEqual(['late']);
    goLive.stop();
  });

  it('one scheduled by another process (no onSchedule here) is found within the minute', async () => {
    vi.useFakeTimers();
    const w = world();
    const goLive = startGoLive(w.ctx);
    await vi.advanceTimersByTimeAsync(10);
    w.rows.push({ slug: 'elsewhere', at: Date.now() + 2500 });
    await vi.advanceTimersByTimeAsync(59_000);
    expect(w.changed).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_100);
    expect(w.changed).toEqual(['elsewhere']);
    goLive.stop();
  });
});

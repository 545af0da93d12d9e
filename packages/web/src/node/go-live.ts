import { type CatalogContext, episodesGoingLive } from '@swarmcast/catalog';

/**
 * Scheduled episodes go live when their time comes, with no request to say so: this timer
 * wakes at the next scheduled time (and at least every minute, for one scheduled by another
 * process) and reports each show whose feed gained an episode through `ctx.onFeedChange`,
 * which drops the portal's cache and notifies WebSub subscribers and Podping. An episode
 * scheduled through this process (`ctx.onSchedule`) wakes it at that time, not up to a
 * minute after it.
 */
export function startGoLive(
  ctx: CatalogContext,
  o: { maxSleepMs?: number } = {},
): { stop(): void; check(): Promise<void> } {
  let last = ctx.clock.now();
  let timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (clock time), or null while a check runs or after stop. */
  let wakeAt: number | null = null;
  let stopped = false;
  let running: Promise<void> | null = null;
  const check = async () => {
    const now = ctx.clock.now();
    const { shows, next } = await episodesGoingLive(ctx, last, now);
    last = now;
    for (const slug of shows) ctx.onFeedChange?.(slug);
    return next;
  };
  const arm = (wait: number) => {
    clearTimeout(timer);
    wakeAt = ctx.clock.now() + wait;
    timer = setTimeout(loop, wait);
    timer.unref();
  };
  /** The soonest time scheduled through `ctx.onSchedule` since the running check began. */
  let asked: number | null = null;
  const loop = () => {
    if (stopped) return;
    wakeAt = null;
    // Anything scheduled before this check is in the database it reads.
    asked = null;
    running = check()
      .catch(() => null)
      .then((next) => {
        if (stopped) return;
        const max = o.maxSleepMs ?? 60_000;
        const soonest = next === null ? asked : asked === null ? next : Math.min(next, asked);
        arm(soonest === null ? max : Math.min(max, Math.max(0, soonest - ctx.clock.now()) + 5));
      });
  };
  const before = ctx.onSchedule;
  ctx.onSchedule = (at) => {
    before?.(at);
    if (stopped) return;
    const t = at.getTime();
    if (wakeAt === null) {
      // A check is running: it arms the timer when it ends, for this one too.
      if (asked === null || t < asked) asked = t;
      return;
    }
    const wait = Math.max(0, t - ctx.clock.now()) + 5;
    if (ctx.clock.now() + wait < wakeAt) arm(wait);
  };
  loop();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
    async check() {
      await running;
      await check();
    },
  };
}

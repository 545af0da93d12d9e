import { type CatalogContext, episodesGoingLive } from '@swarmcast/catalog';

/**
 * Scheduled episodes go live when their time comes, with no request to say so: this timer
 * wakes at the next scheduled time (and at least every minute, in case one was added or
 * moved) and reports each show whose feed gained an episode through `ctx.onFeedChange`,
 * which drops the portal's cache and notifies WebSub subscribers and Podping.
 */
export function startGoLive(
  ctx: CatalogContext,
  o: { maxSleepMs?: number } = {},
): { stop(): void; check(): Promise<void> } {
  let last = ctx.clock.now();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> | null = null;
  const check = async () => {
    const now = ctx.clock.now();
    const { shows, next } = await episodesGoingLive(ctx, last, now);
    last = now;
    for (const slug of shows) ctx.onFeedChange?.(slug);
    return next;
  };
  const loop = () => {
    if (stopped) return;
    running = check()
      .catch(() => null)
      .then((next) => {
        if (stopped) return;
        const max = o.maxSleepMs ?? 60_000;
        const wait = next === null ? max : Math.min(max, Math.max(0, next - ctx.clock.now()) + 5);
        timer = setTimeout(loop, wait);
        timer.unref();
      });
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

/**
 * The stitch-plan service the node's enclosure resolver calls per request: a memory cache
 * in front of the stored plans, one decision in flight per plan key (a podcast app opens
 * several ranged requests at once), and the per-client and per-episode bounds of
 * plan-store.ts. The hot path (a plan already decided) costs one map lookup.
 */
import type { EpisodeForAds } from '@swarmcast/catalog';
import type { Db } from '@swarmcast/platform';
import { utcDay } from '@swarmcast/platform';
import type { DeviceClass } from '../model.ts';
import { decideStitchPlan, type PlanDeps } from './decide-plan.ts';
import {
  countPlans,
  defaultPlanLimits,
  insertPlan,
  loadPlan,
  type PlanLayout,
  type PlanLimits,
  type StoredPlan,
  saveLayout,
  sharedPlanKey,
} from './plan-store.ts';

export interface PlanAsk {
  episode: EpisodeForAds;
  audienceKey: string;
  clientKey: string;
  country: string | null;
  device: DeviceClass;
  profileKey: string;
  now: number;
  prepared(creativeId: string): boolean;
}

export interface PlanAnswer extends StoredPlan {
  /** Set when the listener got the episode's shared plan instead of their own. */
  sharedBecause?: 'client-limit' | 'episode-limit';
}

export interface StitchPlannerOptions {
  db: Db;
  deps: PlanDeps;
  limits?: Partial<PlanLimits>;
  /** Plans kept in memory (default 20,000). */
  cacheSize?: number;
}

export class StitchPlanner {
  private readonly cache = new Map<string, StoredPlan>();
  private readonly inflight = new Map<string, Promise<StoredPlan>>();
  /** (episode, client, window) already at the per-client limit. */
  private readonly fullClients = new Set<string>();
  /** The tail of each client's queue of plan decisions (per episode and window). */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly limits: PlanLimits;
  private readonly cacheSize: number;
  /** Why listeners got the shared plan, per episode (for the creator's report). */
  readonly overflow = new Map<string, { clientLimit: number; episodeLimit: number }>();

  constructor(private readonly o: StitchPlannerOptions) {
    this.limits = { ...defaultPlanLimits, ...o.limits };
    this.cacheSize = o.cacheSize ?? 20_000;
  }

  async planFor(ask: PlanAsk): Promise<PlanAnswer> {
    const window = utcDay(ask.now);
    const own = await this.lookup(ask.episode.id, ask.audienceKey, window);
    if (own) return own;
    // One client's new plans are counted and made one at a time: ten parallel requests with
    // ten user agents all saw "7 plans so far" and made ten (a hostile-traffic test).
    return this.serial(`${ask.episode.id}\u0000${ask.clientKey}\u0000${window}`, () =>
      this.ownOrShared(ask, window),
    );
  }

  private async ownOrShared(ask: PlanAsk, window: string): Promise<PlanAnswer> {
    const own = await this.lookup(ask.episode.id, ask.audienceKey, window);
    if (own) return own;
    // A client known to be at its limit costs no count query (one per request before).
    const fullKey = `${ask.episode.id}\u0000${ask.clientKey}\u0000${window}`;
    const counts = this.fullClients.has(fullKey)
      ? { client: this.limits.perClient, episode: 0 }
      : await countPlans(this.o.db, ask.episode.id, window, ask.clientKey);
    const over: PlanAnswer['sharedBecause'] =
      counts.client >= this.limits.perClient
        ? 'client-limit'
        : counts.episode >= this.limits.perEpisode
          ? 'episode-limit'
          : undefined;
    if (over === 'client-limit') {
      if (this.fullClients.size >= 100_000) this.fullClients.clear();
      this.fullClients.add(fullKey);
    }
    if (over) {
      const o = this.overflow.get(ask.episode.id) ?? { clientLimit: 0, episodeLimit: 0 };
      if (over === 'client-limit') o.clientLimit++;
      else o.episodeLimit++;
      this.overflow.set(ask.episode.id, o);
      const shared = await this.decideOnce(ask, sharedPlanKey, null, window, sharedPlanKey);
      return { ...shared, sharedBecause: over };
    }
    return this.decideOnce(ask, ask.audienceKey, ask.audienceKey, window, ask.clientKey);
  }

  /** Records where the ads sit once the file was laid out (measurement reads it). */
  async layoutReady(stored: StoredPlan, layout: PlanLayout): Promise<void> {
    if (stored.layout) return;
    stored.layout = layout;
    await saveLayout(this.o.db, stored.plan.id, layout);
  }

  private async lookup(episodeId: string, planKey: string, window: string): Promise<StoredPlan | null> {
    const k = `${episodeId}\u0000${planKey}\u0000${window}`;
    const hit = this.cache.get(k);
    if (hit) return hit;
    const stored = await loadPlan(this.o.db, episodeId, planKey, window);
    if (stored) this.remember(k, stored);
    return stored;
  }

  private decideOnce(
    ask: PlanAsk,
    planKey: string,
    capsKey: string | null,
    window: string,
    clientKey: string,
  ): Promise<StoredPlan> {
    const k = `${ask.episode.id}\u0000${planKey}\u0000${window}`;
    const running = this.inflight.get(k);
    if (running) return running;
    const p = (async () => {
      const existing = await this.lookup(ask.episode.id, planKey, window);
      if (existing) return existing;
      const plan = decideStitchPlan(this.o.deps, {
        episode: ask.episode,
        audienceKey: capsKey,
        planKey,
        window,
        country: capsKey === null ? null : ask.country,
        device: capsKey === null ? 'unknown' : ask.device,
        profileKey: ask.profileKey,
        now: ask.now,
        prepared: ask.prepared,
      });
      const stored = await insertPlan(this.o.db, plan, clientKey);
      this.remember(k, stored);
      return stored;
    })();
    this.inflight.set(k, p);
    return p.finally(() => this.inflight.delete(k));
  }

  private serial<T>(key: string, f: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const run = previous.then(f, f);
    const tail = run.then(
      () => {},
      () => {},
    );
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return run;
  }

  private remember(k: string, stored: StoredPlan): void {
    if (this.cache.size >= this.cacheSize) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(k, stored);
  }
}

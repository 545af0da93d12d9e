/**
 * The stitch-plan service the node's enclosure resolver calls per request: a memory cache
 * in front of the stored plans, one decision in flight per plan key (a podcast app opens
 * several ranged requests at once), and the per-client and per-episode bounds of
 * plan-store.ts. The hot path (a plan already decided) costs one map lookup.
 *
 * A new listener costs two statements, each shared with every other new listener that
 * asks meanwhile: one looks the key and both counters up, one stores the decided plan
 * (with its layout) while reserving its slots. Before, six statements each (three lookups
 * of the same key, a count scanning the episode's plans, an insert and a re-read, and the
 * layout's update on the first response), and on the node's PGlite every statement waits
 * for the previous one: at 200 new listeners at once the last waited seconds.
 */
import type { EpisodeForAds } from '@swarmcast/catalog';
import type { Db } from '@swarmcast/platform';
import { utcDay } from '@swarmcast/platform';
import type { DeviceClass } from '../model.ts';
import { decidePlan, type PlanDeps, type StitchPlan } from './decide-plan.ts';
import {
  defaultPlanLimits,
  type LookedUp,
  lookupPlans,
  type PlanKey,
  type PlanLayout,
  type PlanLimits,
  type PlanToStore,
  type StoredPlan,
  type StoreOutcome,
  saveLayout,
  sharedPlanKey,
  storePlans,
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
  /**
   * Where the ads of a newly decided plan sit in the file; stored with the plan. Null (or
   * absent) when it cannot be laid out: the caller's `layoutReady` records it later.
   */
  layoutOf?(plan: StitchPlan): PlanLayout | null;
}

async function windowPlansOf(db: Db, episodeId: string, window: string): Promise<WindowPlans> {
  const r = await db.query<{ plan_key: string; client_key: string }>(
    `SELECT plan_key, client_key FROM ads_stitch_plans
      WHERE episode_id = $1 AND window_day = $2 AND plan_key <> $3`,
    [episodeId, window, sharedPlanKey],
  );
  const known: WindowPlans = { keys: new Set(), clients: new Map(), total: 0 };
  for (const row of r.rows) {
    known.keys.add(row.plan_key);
    known.clients.set(row.client_key, (known.clients.get(row.client_key) ?? 0) + 1);
    known.total++;
  }
  return known;
}

type StoredOrFull = StoredPlan | { full: 'client-limit' | 'episode-limit' };

const cacheKey = (episodeId: string, planKey: string, window: string) =>
  `${episodeId}\u0000${planKey}\u0000${window}`;

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
  /**
   * Answer a new listener from memory and store the plan behind the answer (default: on
   * PGlite, which only this process can open, so no other process can decide the same key
   * meanwhile). On a shared PostgreSQL the store stays on the request path.
   */
  writeBehind?: boolean;
  /** A plan stored behind its answer failed to store (logged by the caller). */
  onError?: (err: unknown) => void;
}

/** One episode's plans in one window, as this process knows them (write-behind only). */
interface WindowPlans {
  keys: Set<string>;
  clients: Map<string, number>;
  total: number;
}

/**
 * Runs `run` over what was asked while the previous run was in flight: one statement for
 * a burst of requests, and none waits longer than one run for its batch to start.
 */
class Batcher<In, Out> {
  private queue: Array<{ input: In; resolve: (o: Out) => void; reject: (e: unknown) => void }> = [];
  private running = false;
  constructor(
    private readonly run: (inputs: In[]) => Promise<Out[]>,
    private readonly max = 256,
    /** How long the first ask waits for company (0: the same turn of the event loop only). */
    private readonly waitMs = 0,
  ) {}

  push(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    // Asks made in this same turn of the event loop (or within waitMs) join the first batch.
    if (this.waitMs > 0) await new Promise((resolve) => setTimeout(resolve, this.waitMs));
    else await Promise.resolve();
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.max);
      try {
        const outs = await this.run(batch.map((b) => b.input));
        batch.forEach((b, i) => {
          b.resolve(outs[i]!);
        });
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    this.running = false;
  }
}

export class StitchPlanner {
  private readonly cache = new Map<string, StoredPlan>();
  private readonly inflight = new Map<string, Promise<StoredOrFull>>();
  /** (episode, client, window) already at the per-client limit. */
  private readonly fullClients = new Set<string>();
  /** (episode, window) already at the per-episode limit. */
  private readonly fullEpisodes = new Set<string>();
  /** The tail of each client's queue of plan decisions (per episode and window). */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly limits: PlanLimits;
  private readonly cacheSize: number;
  private readonly lookups: Batcher<PlanKey, LookedUp>;
  private readonly stores: Batcher<PlanToStore, StoreOutcome>;
  private readonly storesBehind: Batcher<PlanToStore, StoreOutcome>;
  /** Why listeners got the shared plan, per episode (for the creator's report). */
  readonly overflow = new Map<string, { clientLimit: number; episodeLimit: number }>();
  private readonly writeBehind: boolean;
  /** Per window, per episode: the stored plan keys and counters (write-behind only). */
  private readonly windows = new Map<string, Map<string, Promise<WindowPlans>>>();
  /** Plans answered but not stored yet, by cache key, and their stores by plan id. */
  private readonly pending = new Map<string, StoredPlan>();
  private readonly storing = new Map<string, Promise<void>>();

  constructor(private readonly o: StitchPlannerOptions) {
    this.limits = { ...defaultPlanLimits, ...o.limits };
    this.cacheSize = o.cacheSize ?? 20_000;
    this.writeBehind = o.writeBehind ?? o.db.engine === 'pglite';
    this.lookups = new Batcher((keys) => lookupPlans(o.db, keys));
    this.stores = new Batcher((items) => storePlans(o.db, items, this.limits));
    // Behind the answers nobody waits for a store but a body's last bytes: one statement
    // per 10 ms instead of one per listener (each costs ~0.6 ms of this thread on PGlite).
    this.storesBehind = new Batcher((items) => storePlans(o.db, items, this.limits), 256, 10);
  }

  async planFor(ask: PlanAsk): Promise<PlanAnswer> {
    const window = utcDay(ask.now);
    const own = this.cache.get(cacheKey(ask.episode.id, ask.audienceKey, window));
    if (own) return own;
    // One client's new plans are made one at a time: ten parallel requests with ten user
    // agents each saw room for one more plan and made ten (a hostile-traffic test).
    return this.serial(`${ask.episode.id}\u0000${ask.clientKey}\u0000${window}`, () =>
      this.ownOrShared(ask, window),
    );
  }

  private async ownOrShared(ask: PlanAsk, window: string): Promise<PlanAnswer> {
    const k = cacheKey(ask.episode.id, ask.audienceKey, window);
    const hit = this.cache.get(k);
    if (hit) return hit;
    const fullClient = `${ask.episode.id}\u0000${ask.clientKey}\u0000${window}`;
    const fullEpisode = `${ask.episode.id}\u0000${window}`;
    let over: PlanAnswer['sharedBecause'] = this.fullClients.has(fullClient)
      ? 'client-limit'
      : this.fullEpisodes.has(fullEpisode)
        ? 'episode-limit'
        : undefined;
    if (!over && this.writeBehind) {
      const waiting = this.pending.get(k);
      if (waiting) return waiting;
      const known = await this.windowPlans(ask.episode.id, window);
      // A key stored before (an earlier process, or evicted from the cache) is looked up below.
      if (!known.keys.has(ask.audienceKey)) {
        const n = known.clients.get(ask.clientKey) ?? 0;
        over =
          n >= this.limits.perClient
            ? 'client-limit'
            : known.total >= this.limits.perEpisode
              ? 'episode-limit'
              : undefined;
        if (!over) {
          known.keys.add(ask.audienceKey);
          known.clients.set(ask.clientKey, n + 1);
          known.total++;
          return this.decideNow(ask, window, k);
        }
      }
    }
    if (!over) {
      const found = await this.lookups.push({
        episodeId: ask.episode.id,
        planKey: ask.audienceKey,
        window,
        clientKey: ask.clientKey,
      });
      if (found.stored) {
        this.remember(k, found.stored);
        return found.stored;
      }
      // Full already: no decision (a decision reserves budget and caps in the ad server).
      over =
        found.clientPlans >= this.limits.perClient
          ? 'client-limit'
          : found.episodePlans >= this.limits.perEpisode
            ? 'episode-limit'
            : undefined;
      if (!over) {
        const own = await this.decideOnce(ask, ask.audienceKey, ask.audienceKey, window, ask.clientKey, true);
        if (!('full' in own)) return own;
        // Filled by parallel requests between the lookup and the store (rare: then this
        // one decision's reservations stay until they expire).
        over = own.full;
      }
    }
    if (over === 'client-limit') {
      if (this.fullClients.size >= 100_000) this.fullClients.clear();
      this.fullClients.add(fullClient);
    } else {
      if (this.fullEpisodes.size >= 100_000) this.fullEpisodes.clear();
      this.fullEpisodes.add(fullEpisode);
    }
    const o = this.overflow.get(ask.episode.id) ?? { clientLimit: 0, episodeLimit: 0 };
    if (over === 'client-limit') o.clientLimit++;
    else o.episodeLimit++;
    this.overflow.set(ask.episode.id, o);
    const shared = await this.sharedPlan(ask, window);
    return { ...shared, sharedBecause: over };
  }

  private async sharedPlan(ask: PlanAsk, window: string): Promise<StoredPlan> {
    const k = cacheKey(ask.episode.id, sharedPlanKey, window);
    const hit = this.cache.get(k);
    if (hit) return hit;
    const found = await this.lookups.push({
      episodeId: ask.episode.id,
      planKey: sharedPlanKey,
      window,
      clientKey: sharedPlanKey,
    });
    if (found.stored) {
      this.remember(k, found.stored);
      return found.stored;
    }
    const made = await this.decideOnce(ask, sharedPlanKey, null, window, sharedPlanKey, false);
    if ('full' in made) throw new Error('the shared plan is not bounded');
    return made;
  }

  /** Records where the ads sit once the file was laid out (measurement reads it). */
  async layoutReady(stored: StoredPlan, layout: PlanLayout): Promise<void> {
    if (stored.layout) return;
    stored.layout = layout;
    await this.storing.get(stored.plan.id);
    await saveLayout(this.o.db, stored.plan.id, layout);
  }

  /**
   * Resolves once this plan is in the database (at once for a plan read from it): the
   * origin holds a body's last bytes on it, as on its download fact, so a download is
   * never counted against a plan measurement cannot find.
   */
  stored(planId: string): Promise<void> {
    return this.storing.get(planId) ?? Promise.resolve();
  }

  /** Resolves when every plan answered so far is stored (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.storing.size > 0) await Promise.all(this.storing.values());
  }

  /** Decides in memory and answers; the store follows (write-behind, see the options). */
  private decideNow(ask: PlanAsk, window: string, k: string): Promise<StoredPlan> {
    // In flight until decided (the shared caps take a round trip): an ask for the same key
    // meanwhile waits for this decision instead of making a second one.
    const p = this.decideBehind(ask, window, k);
    this.inflight.set(k, p);
    return p.finally(() => this.inflight.delete(k));
  }

  private async decideBehind(ask: PlanAsk, window: string, k: string): Promise<StoredPlan> {
    const plan = await decidePlan(this.o.deps, {
      episode: ask.episode,
      audienceKey: ask.audienceKey,
      planKey: ask.audienceKey,
      window,
      country: ask.country,
      device: ask.device,
      profileKey: ask.profileKey,
      now: ask.now,
      prepared: ask.prepared,
    });
    const stored: StoredPlan = { plan, layout: ask.layoutOf?.(plan) ?? null };
    this.remember(k, stored);
    this.pending.set(k, stored);
    const done = this.storesBehind
      .push({ plan, clientKey: ask.clientKey, layout: stored.layout, bounded: true })
      .then(
        (r) => {
          // Only this process writes this database, so nothing else can have stored the key.
          if (r.outcome !== 'inserted')
            this.o.onError?.(new Error(`stitch plan ${plan.id} not stored: ${r.outcome}`));
        },
        (err: unknown) => this.o.onError?.(err),
      )
      .finally(() => {
        this.pending.delete(k);
        this.storing.delete(plan.id);
      });
    this.storing.set(plan.id, done);
    return stored;
  }

  /** Loaded once per episode and window; kept for the two newest windows. */
  private windowPlans(episodeId: string, window: string): Promise<WindowPlans> {
    let byEpisode = this.windows.get(window);
    if (!byEpisode) {
      byEpisode = new Map();
      this.windows.set(window, byEpisode);
      const newest = [...this.windows.keys()].sort().slice(-2);
      for (const w of this.windows.keys()) if (!newest.includes(w)) this.windows.delete(w);
    }
    let p = byEpisode.get(episodeId);
    if (!p) {
      p = windowPlansOf(this.o.db, episodeId, window);
      byEpisode.set(episodeId, p);
      p.catch(() => byEpisode.delete(episodeId));
    }
    return p;
  }

  private decideOnce(
    ask: PlanAsk,
    planKey: string,
    capsKey: string | null,
    window: string,
    clientKey: string,
    bounded: boolean,
  ): Promise<StoredOrFull> {
    const k = cacheKey(ask.episode.id, planKey, window);
    const running = this.inflight.get(k);
    if (running) return running;
    const p = (async (): Promise<StoredOrFull> => {
      const plan = await decidePlan(this.o.deps, {
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
      // Laid out before it is stored, so plan and layout are one row written once: a
      // download is only counted against a recorded layout.
      const layout = ask.layoutOf?.(plan) ?? null;
      const r = await this.stores.push({ plan, clientKey, layout, bounded });
      if (!r.stored) return { full: r.outcome };
      this.remember(k, r.stored);
      return r.stored;
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

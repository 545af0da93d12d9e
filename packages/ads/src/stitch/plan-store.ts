/**
 * Stitch plans in the ads tables, reused per (episode, audience key, window), with bounds:
 * one client (address prefix under the day's salt) makes at most `perClient` plans per
 * episode and window, and one episode at most `perEpisode` plans per window; beyond either,
 * the listener gets the episode's shared plan (decided without a listener: capped line
 * items do not serve it). So a client rotating user agents costs a bounded number of rows
 * and decisions, and still gets a coherent file.
 */
import { type Migration, type Queryable, utcDay } from '@swarmcast/platform';
import type { StitchPlan } from './decide-plan.ts';

export const stitchPlanMigrations: Migration[] = [
  {
    // Keys are daily-salted hashes (audience key, client key): nothing that names a person.
    id: 'ads/stitch-0001-plans',
    sql: `
CREATE TABLE ads_stitch_plans (
  id text PRIMARY KEY,
  episode_id text NOT NULL,
  plan_key text NOT NULL,
  client_key text NOT NULL,
  window_day text NOT NULL,
  created_at bigint NOT NULL,
  plan jsonb NOT NULL,
  layout jsonb,
  UNIQUE (episode_id, plan_key, window_day)
);
CREATE INDEX ads_stitch_plans_client ON ads_stitch_plans (client_key, episode_id, window_day);
CREATE INDEX ads_stitch_plans_created ON ads_stitch_plans (created_at);
`,
  },
  {
    // Plans per (episode, window, client) and per (episode, window) (client_key ''), kept
    // as counters: counting the rows cost a scan of the episode's plans per new listener
    // (7.7 ms at 1,000 plans, linear up to the 20,000 bound), and a count read before an
    // insert let parallel requests of different clients all pass the per-episode bound.
    // ads_stitch_store takes a batch of decided plans and, per plan, in one statement on
    // the request path: returns the stored plan if its key has one, else reserves a slot in
    // both counters (row locks, so parallel processes on one PostgreSQL agree) and inserts
    // it, else says which bound is full. Plans already stored are counted here once.
    id: 'ads/stitch-0002-plan-counts',
    sql: `
CREATE TABLE ads_stitch_plan_counts (
  episode_id text NOT NULL,
  window_day text NOT NULL,
  client_key text NOT NULL,
  n integer NOT NULL,
  PRIMARY KEY (episode_id, window_day, client_key)
);
INSERT INTO ads_stitch_plan_counts (episode_id, window_day, client_key, n)
  SELECT episode_id, window_day, client_key, count(*) FROM ads_stitch_plans
   WHERE plan_key <> 'shared' GROUP BY episode_id, window_day, client_key;
INSERT INTO ads_stitch_plan_counts (episode_id, window_day, client_key, n)
  SELECT episode_id, window_day, '', count(*) FROM ads_stitch_plans
   WHERE plan_key <> 'shared' GROUP BY episode_id, window_day;

CREATE FUNCTION ads_stitch_store(
  p_ids text[], p_episodes text[], p_keys text[], p_clients text[], p_windows text[],
  p_created bigint[], p_plans jsonb[], p_layouts jsonb[], p_bounded boolean[],
  p_per_client integer, p_per_episode integer)
RETURNS TABLE (o_i integer, o_outcome text, o_plan jsonb, o_layout jsonb)
LANGUAGE plpgsql AS $$
DECLARE
  k integer;
  got integer;
BEGIN
  FOR k IN 1 .. coalesce(array_length(p_ids, 1), 0) LOOP
    o_i := k;
    SELECT s.plan, s.layout INTO o_plan, o_layout FROM ads_stitch_plans s
     WHERE s.episode_id = p_episodes[k] AND s.plan_key = p_keys[k] AND s.window_day = p_windows[k];
    IF FOUND THEN
      o_outcome := 'existing';
      RETURN NEXT;
      CONTINUE;
    END IF;
    IF p_bounded[k] THEN
      INSERT INTO ads_stitch_plan_counts AS c (episode_id, window_day, client_key, n)
        VALUES (p_episodes[k], p_windows[k], p_clients[k], 1)
        ON CONFLICT (episode_id, window_day, client_key) DO UPDATE SET n = c.n + 1 WHERE c.n < p_per_client
        RETURNING c.n INTO got;
      IF NOT FOUND THEN
        o_outcome := 'client-limit'; o_plan := NULL; o_layout := NULL;
        RETURN NEXT;
        CONTINUE;
      END IF;
      INSERT INTO ads_stitch_plan_counts AS c (episode_id, window_day, client_key, n)
        VALUES (p_episodes[k], p_windows[k], '', 1)
        ON CONFLICT (episode_id, window_day, client_key) DO UPDATE SET n = c.n + 1 WHERE c.n < p_per_episode
        RETURNING c.n INTO got;
      IF NOT FOUND THEN
        UPDATE ads_stitch_plan_counts c SET n = c.n - 1
         WHERE c.episode_id = p_episodes[k] AND c.window_day = p_windows[k] AND c.client_key = p_clients[k];
        o_outcome := 'episode-limit'; o_plan := NULL; o_layout := NULL;
        RETURN NEXT;
        CONTINUE;
      END IF;
    END IF;
    INSERT INTO ads_stitch_plans (id, episode_id, plan_key, client_key, window_day, created_at, plan, layout)
      VALUES (p_ids[k], p_episodes[k], p_keys[k], p_clients[k], p_windows[k], p_created[k], p_plans[k], p_layouts[k])
      ON CONFLICT (episode_id, plan_key, window_day) DO NOTHING;
    IF FOUND THEN
      o_outcome := 'inserted'; o_plan := p_plans[k]; o_layout := p_layouts[k];
      RETURN NEXT;
      CONTINUE;
    END IF;
    -- Another process stored this key after the SELECT above: its plan is the one, and
    -- the slots reserved for this one are given back.
    IF p_bounded[k] THEN
      UPDATE ads_stitch_plan_counts c SET n = c.n - 1
       WHERE c.episode_id = p_episodes[k] AND c.window_day = p_windows[k]
         AND c.client_key IN (p_clients[k], '');
    END IF;
    SELECT s.plan, s.layout INTO o_plan, o_layout FROM ads_stitch_plans s
     WHERE s.episode_id = p_episodes[k] AND s.plan_key = p_keys[k] AND s.window_day = p_windows[k];
    o_outcome := 'existing';
    RETURN NEXT;
  END LOOP;
END $$;
`,
  },
  {
    // Two processes on one PostgreSQL asking for the same listener both reserved a slot
    // before one of them lost the insert and gave its slot back: meanwhile a third listener
    // was told the episode was full by one process and got an own plan from the other, so
    // one listener had two plans (a CI failure of the two-process test). A batch also took
    // counter rows in its own order, so two batches could deadlock. The store now holds a
    // transaction lock per (episode, window) first, in one order: a key is looked up,
    // reserved and inserted by one store at a time, and a full answer is really full.
    id: 'ads/stitch-0003-store-locks',
    sql: `
CREATE OR REPLACE FUNCTION ads_stitch_store(
  p_ids text[], p_episodes text[], p_keys text[], p_clients text[], p_windows text[],
  p_created bigint[], p_plans jsonb[], p_layouts jsonb[], p_bounded boolean[],
  p_per_client integer, p_per_episode integer)
RETURNS TABLE (o_i integer, o_outcome text, o_plan jsonb, o_layout jsonb)
LANGUAGE plpgsql AS $$
DECLARE
  k integer;
  got integer;
  h bigint;
BEGIN
  -- One store at a time per (episode, window), across processes, taken in one global order
  -- so two batches never wait on each other's locks.
  FOR h IN SELECT DISTINCT hashtextextended(w || ' ' || e, 0)
             FROM unnest(p_episodes, p_windows) AS t(e, w) ORDER BY 1 LOOP
    PERFORM pg_advisory_xact_lock(h);
  END LOOP;
  FOR k IN 1 .. coalesce(array_length(p_ids, 1), 0) LOOP
    o_i := k;
    SELECT s.plan, s.layout INTO o_plan, o_layout FROM ads_stitch_plans s
     WHERE s.episode_id = p_episodes[k] AND s.plan_key = p_keys[k] AND s.window_day = p_windows[k];
    IF FOUND THEN
      o_outcome := 'existing';
      RETURN NEXT;
      CONTINUE;
    END IF;
    IF p_bounded[k] THEN
      INSERT INTO ads_stitch_plan_counts AS c (episode_id, window_day, client_key, n)
        VALUES (p_episodes[k], p_windows[k], p_clients[k], 1)
        ON CONFLICT (episode_id, window_day, client_key) DO UPDATE SET n = c.n + 1 WHERE c.n < p_per_client
        RETURNING c.n INTO got;
      IF NOT FOUND THEN
        o_outcome := 'client-limit'; o_plan := NULL; o_layout := NULL;
        RETURN NEXT;
        CONTINUE;
      END IF;
      INSERT INTO ads_stitch_plan_counts AS c (episode_id, window_day, client_key, n)
        VALUES (p_episodes[k], p_windows[k], '', 1)
        ON CONFLICT (episode_id, window_day, client_key) DO UPDATE SET n = c.n + 1 WHERE c.n < p_per_episode
        RETURNING c.n INTO got;
      IF NOT FOUND THEN
        UPDATE ads_stitch_plan_counts c SET n = c.n - 1
         WHERE c.episode_id = p_episodes[k] AND c.window_day = p_windows[k] AND c.client_key = p_clients[k];
        o_outcome := 'episode-limit'; o_plan := NULL; o_layout := NULL;
        RETURN NEXT;
        CONTINUE;
      END IF;
    END IF;
    INSERT INTO ads_stitch_plans (id, episode_id, plan_key, client_key, window_day, created_at, plan, layout)
      VALUES (p_ids[k], p_episodes[k], p_keys[k], p_clients[k], p_windows[k], p_created[k], p_plans[k], p_layouts[k])
      ON CONFLICT (episode_id, plan_key, window_day) DO NOTHING;
    IF FOUND THEN
      o_outcome := 'inserted'; o_plan := p_plans[k]; o_layout := p_layouts[k];
      RETURN NEXT;
      CONTINUE;
    END IF;
    -- Not reached while the lock above is held (kept for a row stored by a writer that does
    -- not take it): the stored plan is the one, and this one's slots are given back.
    IF p_bounded[k] THEN
      UPDATE ads_stitch_plan_counts c SET n = c.n - 1
       WHERE c.episode_id = p_episodes[k] AND c.window_day = p_windows[k]
         AND c.client_key IN (p_clients[k], '');
    END IF;
    SELECT s.plan, s.layout INTO o_plan, o_layout FROM ads_stitch_plans s
     WHERE s.episode_id = p_episodes[k] AND s.plan_key = p_keys[k] AND s.window_day = p_windows[k];
    o_outcome := 'existing';
    RETURN NEXT;
  END LOOP;
END $$;
`,
  },
];

/** Where each ad and each content run sits in the stitched file (bytes, end exclusive). */
export interface PlanLayout {
  size: number;
  /** Content runs: stitched [start, end) holds the episode file's bytes from srcStart. */
  content: Array<{ start: number; end: number; srcStart: number }>;
  ads: Array<{ decisionId: string; start: number; end: number; startMs: number; endMs: number }>;
  /**
   * Each filled break: where the creator put it (content ms), the frame boundary it was cut
   * at, and its span in stitched time.
   */
  breaks: Array<{ atMs: number; contentMs: number; startMs: number; endMs: number }>;
}

/**
 * Content time -> the listener's file time for one plan: plus the length of every break cut
 * at or before it (a chapter that starts where a mid-roll is inserted starts after the ads,
 * on its first words). Used for chapters and transcripts served per plan.
 */
export function shiftedMs(layout: Pick<PlanLayout, 'breaks'>, contentMs: number): number {
  let shift = 0;
  // Compared with where the creator put the break (a chapter start, say), not the frame
  // boundary it was cut at, which may lie half a frame after it.
  for (const b of layout.breaks) if (b.atMs <= contentMs) shift += b.endMs - b.startMs;
  return contentMs + shift;
}

export interface StoredPlan {
  plan: StitchPlan;
  layout: PlanLayout | null;
}

export const sharedPlanKey = 'shared';

export interface PlanLimits {
  /** Plans one client may make per episode and window (default 8). */
  perClient: number;
  /** Plans per episode and window (default 20,000). */
  perEpisode: number;
}

export const defaultPlanLimits: PlanLimits = { perClient: 8, perEpisode: 20_000 };

export async function loadPlan(
  db: Queryable,
  episodeId: string,
  planKey: string,
  window: string,
): Promise<StoredPlan | null> {
  const r = await db.query<{ plan: StitchPlan; layout: PlanLayout | null }>(
    'SELECT plan, layout FROM ads_stitch_plans WHERE episode_id = $1 AND plan_key = $2 AND window_day = $3',
    [episodeId, planKey, window],
  );
  const row = r.rows[0];
  return row ? { plan: row.plan, layout: row.layout ?? null } : null;
}

/** Plans by id (measurement maps download ranges to ad spans with their layouts). */
export async function loadPlansById(db: Queryable, ids: readonly string[]): Promise<Map<string, StoredPlan>> {
  const out = new Map<string, StoredPlan>();
  if (ids.length === 0) return out;
  const r = await db.query<{ id: string; plan: StitchPlan; layout: PlanLayout | null }>(
    'SELECT id, plan, layout FROM ads_stitch_plans WHERE id = ANY($1::text[])',
    [[...new Set(ids)]],
  );
  for (const row of r.rows) out.set(row.id, { plan: row.plan, layout: row.layout ?? null });
  return out;
}

/** One plan key to look up, with the client that asks (its counter is read too). */
export interface PlanKey {
  episodeId: string;
  planKey: string;
  window: string;
  clientKey: string;
}

export interface LookedUp {
  stored: StoredPlan | null;
  /** Plans this client has made for the episode in the window. */
  clientPlans: number;
  /** Plans made for the episode in the window (the shared plan not included). */
  episodePlans: number;
}

/**
 * Stored plans and the counters of many keys in one query (a batch of new listeners costs
 * one round trip, not one each).
 */
export async function lookupPlans(db: Queryable, keys: readonly PlanKey[]): Promise<LookedUp[]> {
  if (keys.length === 0) return [];
  const r = await db.query<{
    i: unknown;
    plan: StitchPlan | null;
    layout: PlanLayout | null;
    client_n: unknown;
    episode_n: unknown;
  }>(
    `SELECT u.i, s.plan, s.layout, cc.n AS client_n, ec.n AS episode_n
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS u(e, k, w, c, i)
       LEFT JOIN ads_stitch_plans s ON s.episode_id = u.e AND s.plan_key = u.k AND s.window_day = u.w
       LEFT JOIN ads_stitch_plan_counts cc ON cc.episode_id = u.e AND cc.window_day = u.w AND cc.client_key = u.c
       LEFT JOIN ads_stitch_plan_counts ec ON ec.episode_id = u.e AND ec.window_day = u.w AND ec.client_key = ''`,
    [
      keys.map((k) => k.episodeId),
      keys.map((k) => k.planKey),
      keys.map((k) => k.window),
      keys.map((k) => k.clientKey),
    ],
  );
  const out: LookedUp[] = keys.map(() => ({ stored: null, clientPlans: 0, episodePlans: 0 }));
  for (const row of r.rows) {
    const o = out[Number(row.i) - 1]!;
    if (row.plan) o.stored = { plan: row.plan, layout: row.layout ?? null };
    o.clientPlans = Number(row.client_n ?? 0);
    o.episodePlans = Number(row.episode_n ?? 0);
  }
  return out;
}

export interface PlanToStore {
  plan: StitchPlan;
  clientKey: string;
  layout: PlanLayout | null;
  /** Counts against the per-client and per-episode bounds (the shared plan does not). */
  bounded: boolean;
}

export type StoreOutcome =
  | { outcome: 'inserted' | 'existing'; stored: StoredPlan }
  | { outcome: 'client-limit' | 'episode-limit'; stored: null };

/**
 * Stores decided plans in one statement (ads_stitch_store, see the migration): per plan,
 * the plan already stored under its key, or this one with a slot reserved in both
 * bounds, or the bound that is full. The bounds hold for parallel requests and processes.
 */
export async function storePlans(
  db: Queryable,
  items: readonly PlanToStore[],
  limits: PlanLimits,
): Promise<StoreOutcome[]> {
  if (items.length === 0) return [];
  const r = await db.query<{
    o_i: unknown;
    o_outcome: string;
    o_plan: StitchPlan | null;
    o_layout: PlanLayout | null;
  }>(
    `SELECT o_i, o_outcome, o_plan, o_layout FROM ads_stitch_store(
       $1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::jsonb[], $8::jsonb[],
       $9::boolean[], $10::integer, $11::integer)`,
    [
      items.map((x) => x.plan.id),
      items.map((x) => x.plan.episodeId),
      items.map((x) => x.plan.audienceKey),
      items.map((x) => x.clientKey),
      items.map((x) => x.plan.window),
      items.map((x) => x.plan.createdAt),
      items.map((x) => JSON.stringify(x.plan)),
      items.map((x) => (x.layout ? JSON.stringify(x.layout) : null)),
      items.map((x) => x.bounded),
      limits.perClient,
      limits.perEpisode,
    ],
  );
  const out: StoreOutcome[] = [];
  for (const row of r.rows) {
    const i = Number(row.o_i) - 1;
    out[i] =
      row.o_outcome === 'client-limit' || row.o_outcome === 'episode-limit'
        ? { outcome: row.o_outcome, stored: null }
        : {
            outcome: row.o_outcome === 'inserted' ? 'inserted' : 'existing',
            stored: { plan: row.o_plan!, layout: row.o_layout ?? null },
          };
  }
  if (out.length !== items.length || out.some((o) => o === undefined))
    throw new Error('ads_stitch_store answered fewer rows than plans');
  return out;
}

/** The layout is a function of the plan and the files; the first writer wins. */
export async function saveLayout(db: Queryable, planId: string, layout: PlanLayout): Promise<void> {
  await db.query('UPDATE ads_stitch_plans SET layout = $2 WHERE id = $1 AND layout IS NULL', [
    planId,
    JSON.stringify(layout),
  ]);
}

/** Drops plans made before `before` (after measurement no longer needs them), and older windows' counters. */
export async function prunePlans(db: Queryable, before: number): Promise<number> {
  const r = await db.query('DELETE FROM ads_stitch_plans WHERE created_at < $1', [before]);
  await db.query('DELETE FROM ads_stitch_plan_counts WHERE window_day < $1', [utcDay(before)]);
  return r.affectedRows ?? 0;
}

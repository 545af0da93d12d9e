/**
 * Stitch plans in the ads tables, reused per (episode, audience key, window), with bounds:
 * one client (address prefix under the day's salt) makes at most `perClient` plans per
 * episode and window, and one episode at most `perEpisode` plans per window; beyond either,
 * the listener gets the episode's shared plan (decided without a listener: capped line
 * items do not serve it). So a client rotating user agents costs a bounded number of rows
 * and decisions, and still gets a coherent file.
 */
import type { Migration, Queryable } from '@swarmcast/platform';
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

/** Inserts a plan unless one exists for its key; returns the plan that is stored. */
export async function insertPlan(db: Queryable, plan: StitchPlan, clientKey: string): Promise<StoredPlan> {
  await db.query(
    `INSERT INTO ads_stitch_plans (id, episode_id, plan_key, client_key, window_day, created_at, plan)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (episode_id, plan_key, window_day) DO NOTHING`,
    [plan.id, plan.episodeId, plan.audienceKey, clientKey, plan.window, plan.createdAt, JSON.stringify(plan)],
  );
  const stored = await loadPlan(db, plan.episodeId, plan.audienceKey, plan.window);
  if (!stored) throw new Error('stitch plan vanished after insert');
  return stored;
}

/** The layout is a function of the plan and the files; the first writer wins. */
export async function saveLayout(db: Queryable, planId: string, layout: PlanLayout): Promise<void> {
  await db.query('UPDATE ads_stitch_plans SET layout = $2 WHERE id = $1 AND layout IS NULL', [
    planId,
    JSON.stringify(layout),
  ]);
}

export async function countPlans(
  db: Queryable,
  episodeId: string,
  window: string,
  clientKey: string,
): Promise<{ client: number; episode: number }> {
  const r = await db.query<{ client: unknown; episode: unknown }>(
    `SELECT count(*) FILTER (WHERE client_key = $3) AS client, count(*) AS episode
       FROM ads_stitch_plans WHERE episode_id = $1 AND window_day = $2`,
    [episodeId, window, clientKey],
  );
  return { client: Number(r.rows[0]?.client ?? 0), episode: Number(r.rows[0]?.episode ?? 0) };
}

/** Drops plans made before `before` (after measurement no longer needs them). */
export async function prunePlans(db: Queryable, before: number): Promise<number> {
  const r = await db.query('DELETE FROM ads_stitch_plans WHERE created_at < $1', [before]);
  return r.affectedRows ?? 0;
}

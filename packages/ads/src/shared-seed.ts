/**
 * Putting the shared delivery counters (shared-delivery.ts) back after Redis lost them. Redis
 * here keeps nothing on disk: a restart or a flush empties it, and with it every line item's
 * measured totals, the campaigns' day spend and the listeners' cap times, so budgets and caps
 * would start again from nothing. The ads part's own tables keep what is needed:
 * - `ads_measured` (every measured delivery and refund, once): each line item's measured
 *   impressions and spend, and the measured spend of the decisions made on each UTC day;
 * - `ads_cap_impressions` (each process's cap memory, flushed with delivery): the listeners'
 *   impression times within their caps' periods;
 * - `ads_claims` (every claim made on the counters, recorded before it was made:
 *   shared-claims.ts): the open reservations of decisions not yet measured whose token has not
 *   expired (line item and decision day), the cap holds of unmeasured decisions still held, and
 *   the cap times of measured decisions (a time `ads_cap_impressions` has for a decision the
 *   claims know is theirs alone: a hold that ended unmeasured is no impression).
 *
 * A seed mark (`<prefix>seeded`, no expiry) says the counters are whole. Every counter script
 * refuses without it (UNSEEDED); the refused process takes a lock, reads the tables, writes the
 * counters and sets the mark, while the others wait for the mark (a decision waits at most
 * `seedWaitMs`, then fails as when Redis is down: no ad rather than one past a cap). A fresh
 * Redis is seeded the same way on first use.
 *
 * The tables are read holding the seed's advisory lock exclusively (shared-claims.ts): a batch of
 * measured deliveries is applied to Redis inside the transaction that records it, holding the
 * lock shared, so the seed never reads while a batch that Redis had (and lost) is uncommitted.
 * A claim is recorded before Redis holds it, so the seed reads every claim Redis could have had;
 * a claim Redis then refuses is taken out again (shared-delivery.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '@swarmcast/platform';
import { epochDay } from './model.ts';
import { lockForSeed } from './shared-claims.ts';

export interface DeliverySeed {
  /** Per line item: measured impressions and spend (milli-micros), net of refunds. */
  totals: Array<{ lineItemId: string; impressions: number; spendMilliMicros: number }>;
  /** Per line item and UTC day of the decisions (yesterday and today): their measured spend. */
  days: Array<{ lineItemId: string; day: number; spendMilliMicros: number }>;
  /** Listeners' impression times per capped line item, and when they stop mattering. */
  caps: Array<{ listenerId: string; lineItemId: string; times: number[]; expiresAt: number }>;
  /** Open reservations: claims not measured yet whose token has not expired. */
  open: Array<{ decisionId: string; lineItemId: string; day: number; expiresAt: number }>;
  /**
   * Cap places of claims: measured (`holdUntil` null) or held unmeasured; kept to `keepUntil`.
   */
  capClaims: Array<{
    decisionId: string;
    lineItemId: string;
    listenerId: string;
    issuedAt: number;
    holdUntil: number | null;
    keepUntil: number;
  }>;
}

/** Reads the seed at `now` from the durable source. */
export type SeedSource = (now: number) => Promise<DeliverySeed>;

export const emptySeed: SeedSource = async () => ({
  totals: [],
  days: [],
  caps: [],
  open: [],
  capClaims: [],
});

const dayMs = 86_400_000;

/** The seed from the ads tables (see the file's header). */
export function loadDeliverySeed(db: Db, now: number): Promise<DeliverySeed> {
  return db.transaction(async (tx) => {
    await lockForSeed(tx);
    return readSeed(tx, now);
  });
}

async function readSeed(db: Queryable, now: number): Promise<DeliverySeed> {
  type Total = { line_item_id: string; n: string | number; s: string | number };
  type Day = { line_item_id: string; day: string | number; s: string | number };
  type Cap = { listener_id: string; line_item_id: string; times: number[]; expires_at: string | number };
  // Spend as the counters keep it: charged micros x 1000, a refund taking one back.
  const totals = await db.query<Total>(
    `SELECT line_item_id,
            sum(CASE WHEN kind = 'delivered' THEN 1 ELSE -1 END) AS n,
            sum(CASE WHEN kind = 'delivered' THEN charged_micros ELSE -charged_micros END) * 1000 AS s
       FROM ads_measured GROUP BY line_item_id`,
  );
  const days = await db.query<Day>(
    `SELECT line_item_id, issued_at / ${dayMs} AS day,
            sum(CASE WHEN kind = 'delivered' THEN charged_micros ELSE -charged_micros END) * 1000 AS s
       FROM ads_measured WHERE issued_at >= $1 GROUP BY 1, 2`,
    [(epochDay(now) - 1) * dayMs],
  );
  const caps = await db.query<Cap>(
    'SELECT listener_id, line_item_id, times, expires_at FROM ads_cap_impressions WHERE expires_at > $1',
    [now],
  );
  type Claim = {
    decision_id: string;
    line_item_id: string;
    listener_id: string | null;
    issued_at: string | number;
    expires_at: string | number;
    hold_until: string | number;
    keep_until: string | number;
    measured: boolean;
  };
  const claims = await db.query<Claim>(
    `SELECT c.*, EXISTS (SELECT 1 FROM ads_measured m WHERE m.decision_id = c.decision_id AND m.kind = 'delivered') AS measured
       FROM ads_claims c WHERE c.keep_until > $1`,
    [now],
  );
  const open: DeliverySeed['open'] = [];
  const capClaims: DeliverySeed['capClaims'] = [];
  // Cap times the claims account for (held, measured or released), by listener and line item.
  const claimed = new Set<string>();
  for (const c of claims.rows) {
    const issuedAt = Number(c.issued_at);
    const expiresAt = Number(c.expires_at);
    const holdUntil = Number(c.hold_until);
    if (!c.measured && expiresAt > now) {
      open.push({
        decisionId: c.decision_id,
        lineItemId: c.line_item_id,
        day: epochDay(issuedAt),
        expiresAt,
      });
    }
    if (c.listener_id === null) continue;
    claimed.add(`${c.listener_id}\n${c.line_item_id}\n${issuedAt}`);
    if (c.measured || holdUntil > now) {
      capClaims.push({
        decisionId: c.decision_id,
        lineItemId: c.line_item_id,
        listenerId: c.listener_id,
        issuedAt,
        holdUntil: c.measured ? null : holdUntil,
        keepUntil: Number(c.keep_until),
      });
    }
  }
  return {
    open,
    capClaims,
    totals: totals.rows.map((r) => ({
      lineItemId: r.line_item_id,
      impressions: Number(r.n),
      spendMilliMicros: Number(r.s),
    })),
    days: days.rows.map((r) => ({
      lineItemId: r.line_item_id,
      day: Number(r.day),
      spendMilliMicros: Number(r.s),
    })),
    caps: caps.rows.map((r) => ({
      listenerId: r.listener_id,
      lineItemId: r.line_item_id,
      times: r.times
        .map(Number)
        .filter(
          (t) => Number.isFinite(t) && t <= now && !claimed.has(`${r.listener_id}\n${r.line_item_id}\n${t}`),
        ),
      expiresAt: Number(r.expires_at),
    })),
  };
}

/** The Redis names the seed writes (shared-delivery.ts owns them). */
export interface SeedKeys {
  mark: string;
  lock: string;
  m(lineItemId: string): string;
  r(lineItemId: string): string;
  dm(lineItemId: string, day: number): string;
  dr(lineItemId: string, day: number): string;
  c(lineItemId: string, listenerId: string): string;
  h(lineItemId: string, listenerId: string): string;
  /** The set of line items the listener has cap times of (shared-delivery.ts). */
  cl(listenerId: string): string;
}

interface Eval {
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
}

// KEYS[1] mark, KEYS[2] lock; ARGV token, lock ms.
const lockScript = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 'seeded' end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 'mine' end
return 'busy'
`;

/**
 * Lua: push a key's expiry out to `at` (never in; relative to the caller's clock `now`, so
 * Redis's own clock does not matter), at least a second. The seed's and the counters' scripts
 * (shared-delivery.ts) share it.
 */
export const extendLua = `
local function extend(key, at, now)
  local ttl = redis.call('PTTL', key)
  local want = math.max(1000, at - now)
  if ttl < 0 or ttl < want then redis.call('PEXPIRE', key, want) end
end
`;

// ARGV[1] now, then records: 's' expiresAt member (KEYS cl: a listener's capped line items) |
// 't' n s (KEYS m) | 'd' spend expiresAt (KEYS dm) | 'z' expiresAt
// member score (KEYS r, dr, c or h: a claim's id) | 'c' expiresAt count times... (KEYS c).
// Totals and day spend are set outright (the tables are the truth); a cap time already present
// (a partial loss) is not added twice.
const writeScript = `${extendLua}
local now = tonumber(ARGV[1])
local k, a = 1, 2
while a <= #ARGV do
  local kind = ARGV[a]
  if kind == 'z' then
    redis.call('ZADD', KEYS[k], ARGV[a + 3], ARGV[a + 2])
    extend(KEYS[k], tonumber(ARGV[a + 1]), now)
    a = a + 4
  elseif kind == 's' then
    redis.call('SADD', KEYS[k], ARGV[a + 2])
    extend(KEYS[k], tonumber(ARGV[a + 1]), now)
    a = a + 3
  elseif kind == 't' then
    redis.call('HSET', KEYS[k], 'n', ARGV[a + 1], 's', ARGV[a + 2])
    a = a + 3
  elseif kind == 'd' then
    redis.call('SET', KEYS[k], ARGV[a + 1], 'PX', math.max(1000, tonumber(ARGV[a + 2]) - now))
    a = a + 3
  else
    local n = tonumber(ARGV[a + 2])
    for i = 1, n do
      local t = ARGV[a + 2 + i]
      if redis.call('ZCOUNT', KEYS[k], t, t) == 0 then redis.call('ZADD', KEYS[k], t, 'seed:' .. t) end
    end
    extend(KEYS[k], tonumber(ARGV[a + 1]), now)
    a = a + 3 + n
  end
  k = k + 1
end
return 0
`;

// KEYS[1] mark, KEYS[2] lock; ARGV token, the mark's value (new each seed). Sets the mark if the lock is still ours.
const finishScript = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2])
return 1
`;

const releaseScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`;

/** A counter script refused: the counters are not seeded (see the file's header). */
export function isUnseeded(err: unknown): boolean {
  return err instanceof Error && /\bUNSEEDED\b/.test(err.message);
}

/**
 * Seeds the counters from `source` unless they are seeded already; waits (up to `waitMs`)
 * while another process seeds. Resolves when this process saw the mark set or gave up
 * waiting (the caller's retry then fails UNSEEDED again).
 */
export async function seedCounters(
  redis: Eval,
  keys: SeedKeys,
  source: SeedSource,
  now: number,
  o: { token: string; lockMs: number; waitMs: number; dayTtlAt: (day: number) => number },
): Promise<void> {
  const lock = () => redis.eval(lockScript, 2, keys.mark, keys.lock, o.token, o.lockMs);
  // Busy: another process seeds; wait for its mark (or for its lock to expire if it died).
  let got = await lock();
  for (let waited = 0; got === 'busy' && waited < o.waitMs; waited += 25) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    got = await lock();
  }
  if (got !== 'mine') return;
  try {
    await writeSeed(redis, keys, await source(now), now, o.dayTtlAt);
  } catch (err) {
    // Let another process try at once rather than after the lock's expiry.
    await redis.eval(releaseScript, 1, keys.lock, o.token).catch(() => {});
    throw err;
  }
  // The mark's value is new at each seed: a process's cache of the counters read before it
  // (shared-delivery.ts `load`) knows it holds no more.
  await redis.eval(finishScript, 2, keys.mark, keys.lock, o.token, `${now}:${randomUUID()}`);
}

async function writeSeed(
  redis: Eval,
  keys: SeedKeys,
  seed: DeliverySeed,
  now: number,
  dayTtlAt: (day: number) => number,
): Promise<void> {
  const records: Array<{ key: string; args: Array<string | number> }> = [
    ...seed.totals.map((t) => ({
      key: keys.m(t.lineItemId),
      args: ['t', t.impressions, t.spendMilliMicros],
    })),
    ...seed.days.map((d) => ({
      key: keys.dm(d.lineItemId, d.day),
      args: ['d', d.spendMilliMicros, dayTtlAt(d.day)],
    })),
    // Claims before the cap times of ads_cap_impressions (a time already there is not added again).
    ...seed.open.flatMap((x) => [
      { key: keys.r(x.lineItemId), args: ['z', x.expiresAt, x.decisionId, x.expiresAt] },
      { key: keys.dr(x.lineItemId, x.day), args: ['z', x.expiresAt, x.decisionId, x.expiresAt] },
    ]),
    ...seed.capClaims.flatMap((x) => [
      { key: keys.cl(x.listenerId), args: ['s', x.keepUntil, x.lineItemId] },
      { key: keys.c(x.lineItemId, x.listenerId), args: ['z', x.keepUntil, x.decisionId, x.issuedAt] },
      ...(x.holdUntil !== null
        ? [{ key: keys.h(x.lineItemId, x.listenerId), args: ['z', x.keepUntil, x.decisionId, x.holdUntil] }]
        : []),
    ]),
    ...seed.caps
      .filter((x) => x.times.length > 0)
      .flatMap((x) => [
        { key: keys.cl(x.listenerId), args: ['s', x.expiresAt, x.lineItemId] },
        { key: keys.c(x.lineItemId, x.listenerId), args: ['c', x.expiresAt, x.times.length, ...x.times] },
      ]),
  ];
  // In chunks: one script call holds Redis for its whole run.
  for (let i = 0; i < records.length; i += 500) {
    const chunk = records.slice(i, i + 500);
    await redis.eval(
      writeScript,
      chunk.length,
      ...chunk.map((x) => x.key),
      now,
      ...chunk.flatMap((x) => x.args),
    );
  }
}

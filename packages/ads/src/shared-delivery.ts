/**
 * Frequency caps and line-item delivery (what pacing and goals read) shared by every ad
 * server process of one network, in Redis (REDIS_URL). Without it each process counted its
 * own decisions, so N processes let a listener see a capped ad N times and ran a line item
 * N times ahead of plan (issue 19).
 *
 * The same quantities as `AdsStore` (store.ts), kept per line item under `prefix`:
 * - `m:<li>` (hash n, s): measured impressions and spend (milli-micros), net of refunds;
 * - `r:<li>` (sorted set, member decision id, score token expiry): open reservations.
 *   Delivery = measured + open reservations at the line item's price; a reservation leaves
 *   the set when measured or when its token expires (swept by each script);
 * - `c:<li>:<listener>` (member decision id, score decision time): the listener's
 *   impressions within the longest cap period; `h:<li>:<listener>` the cap holds of
 *   unmeasured decisions (score: hold end), dropped from `c:` when the hold ends unmeasured;
 * - `dm:<li>:<day>` (integer) measured spend of the decisions made on that UTC day, and
 *   `dr:<li>:<day>` (sorted set, as `r:`) that day's open reservations: a campaign's spend on
 *   a day is the sum over its line items (daily budgets). They are kept to the end of the
 *   next day. Kept per line item, not per campaign, so an open reservation is priced as in
 *   `r:` (count times the line item's price) and the sum stays one ZCARD per line item.
 *
 * - `cl:<listener>` (set of line item ids): the line items the listener has cap times of, so a
 *   decision reads the cap keys of those only (most of Redis's work a decision was reading
 *   the empty cap keys of every capped candidate); kept as long as the longest of them;
 * - `changes` (integer) and `changed` (sorted set, member line item id, score the `changes` count
 *   when its counters last changed): every script that changes a line item's `m`, `r`, `dm` or
 *   `dr` logs it, so a process keeps the counters it read and reads again only what changed,
 *   what expired (a reservation past its token) and what it has not read (`load`). The seed
 *   mark's value is new at each seed: a process's copy from before a loss is dropped.
 *
 * A decision reads these for its candidates in one round trip (`load`), chooses with the
 * pure policy as before, then `claim`s its pod in one atomic script that checks the cap and
 * the pacing ceiling again and adds the decision only if both still allow it: two processes
 * racing for the last place under a cap or a plan never both get it. The campaign's total
 * budget is checked there too, against the spend of all its line items, and so is its daily
 * budget, against the same line items' spend on the decision's UTC day. An ad that loses a
 * claim leaves the pod, which is topped up once on fresh counters from the next line items
 * (shared-pod.ts), so a burst at one line item's limit falls through to the next line item
 * instead of leaving breaks short or empty. Reservations, day counters and caps expire when
 * their last entry would; measured totals are kept. Every script first checks the seed mark:
 * Redis keeps nothing on disk, so after a restart or flush the counters are seeded again from
 * the ads tables before any decision reads them (shared-seed.ts), in-flight claims included:
 * each claim is recorded in PostgreSQL before it is made here (shared-claims.ts).
 */
import { createHash, randomUUID } from 'node:crypto';
import { AdsFailure } from './errors.ts';
import { capHorizonMs } from './frequency-caps.ts';
import { epochDay, type LineItem, type LineItemDelivery } from './model.ts';
import { defaultPaceSettings, goalTotal, type PaceSettings, paceCeiling } from './pacing.ts';
import { type Candidate, flightOf, type PodSlot } from './select-pod.ts';
import type { ClaimLog, ClaimRecord } from './shared-claims.ts';
import {
  emptySeed,
  extendLua,
  isUnseeded,
  type SeedKeys,
  type SeedSource,
  seedCounters,
} from './shared-seed.ts';
import type { AdsStore } from './store.ts';
import type { MeasuredDelivery } from './tracking-contract.ts';

/** The Redis commands used (ioredis' `Redis` has them); keeps ads free of a client library. */
export interface RedisScripts {
  eval(script: string, numKeys: number, ...args: Array<string | number | Buffer>): Promise<unknown>;
  /** Runs a script Redis has cached by its SHA-1 (absent: every call sends the script). */
  evalsha?(sha1: string, numKeys: number, ...args: Array<string | number | Buffer>): Promise<unknown>;
}

/**
 * Runs `script` by its SHA-1 (EVALSHA), sending its text only when Redis does not have it
 * (NOSCRIPT: first use, or after a restart or SCRIPT FLUSH). EVAL sent the whole script
 * (1-4 KB) with every decision and Redis hashed it each time.
 */
export function scriptRunner(redis: RedisScripts) {
  const shas = new Map<string, string>();
  return async (
    script: string,
    numKeys: number,
    ...args: Array<string | number | Buffer>
  ): Promise<unknown> => {
    if (!redis.evalsha) return redis.eval(script, numKeys, ...args);
    let sha = shas.get(script);
    if (sha === undefined) {
      sha = createHash('sha1').update(script).digest('hex');
      shas.set(script, sha);
    }
    try {
      return await redis.evalsha(sha, numKeys, ...args);
    } catch (err) {
      if (!(err instanceof Error && /\bNOSCRIPT\b/.test(err.message))) throw err;
    }
    return redis.eval(script, numKeys, ...args);
  };
}

export interface ClaimRequest {
  listenerId: string | null;
  now: number;
  /** The decisions' token expiry: their reservations last as long. */
  expiresAt: number;
  /** One per slot, in order. */
  decisionIds: readonly string[];
  /** The line items of a candidate's campaign (its total budget counts all of them). */
  siblings?: (c: Candidate) => readonly Pick<Candidate, 'lineItem' | 'campaign'>[];
  /** The pacing settings the policy chose with (pacing.ts; default its defaults). */
  pace?: PaceSettings;
}

export interface SharedDelivery {
  /**
   * Seeds the counters from the durable source unless Redis has them (shared-seed.ts); call at
   * start so no request waits for it. Every other call seeds them too when it finds them lost.
   */
  ready(now: number): Promise<void>;
  /** Puts the shared delivery of `candidates` and the listener's cap times into `store`. */
  load(
    store: AdsStore,
    candidates: readonly Candidate[],
    listenerId: string | null,
    now: number,
  ): Promise<void>;
  /** Takes a place for each slot if its cap and pacing still allow it; true where taken. */
  claim(slots: readonly PodSlot[], req: ClaimRequest): Promise<boolean[]>;
  /**
   * Applies measured deliveries and refunds (each once: the caller deduplicates). Lost counters
   * are not seeded here: it fails UNSEEDED (`isUnseeded`) and the caller, out of its
   * transaction, calls `ready` and applies again.
   */
  measured(store: AdsStore, deliveries: readonly MeasuredDelivery[], now: number): Promise<void>;
  /**
   * Each line item's open reservations made by every process (count, at its price), for
   * reports. Redis out of reach: an `AdsFailure` ADS_SHARED_STATE_UNAVAILABLE.
   */
  reserved(lineItems: readonly LineItem[], now: number): Promise<LineItemDelivery[]>;
}

const dayMs = 86_400_000;

/**
 * True when a Redis command failed because Redis cannot be reached (down, refused, the
 * connection closed, the client's retries used up), not because of the command. The texts
 * are ioredis's; the socket codes Node's.
 */
export function isRedisUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; depth++) {
    if (e.name === 'MaxRetriesPerRequestError') return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && socketCodes.has(code)) return true;
    if (unreachableTexts.some((t) => (e as Error).message.includes(t))) return true;
    e = e.cause;
  }
  return false;
}
const socketCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);
const unreachableTexts = ['Connection is closed', "Stream isn't writeable", 'max retries per request'];

// Shared by the three scripts: KEYS[1] is the seed mark (shared-seed.ts): without it the
// counters were lost (Redis restarted or flushed) or never seeded, and the script refuses
// (UNSEEDED) until they are seeded again. Push a key's expiry out (`extend`, shared-seed.ts's
// `extendLua`); release expired reservations and
// read a line item's delivery (a missing total is none); drop expired cap holds and times no
// cap needs.
const helpers = `
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('UNSEEDED') end
${extendLua}
local function delivered(m, r, now, cpm)
  redis.call('ZREMRANGEBYSCORE', r, '-inf', now)
  local f = redis.call('HMGET', m, 'n', 's')
  local open = redis.call('ZCARD', r)
  return tonumber(f[1] or '0') + open, tonumber(f[2] or '0') + open * cpm
end
local function daySpent(dm, dr, now, cpm)
  redis.call('ZREMRANGEBYSCORE', dr, '-inf', now)
  return tonumber(redis.call('GET', dm) or '0') + redis.call('ZCARD', dr) * cpm
end
-- KEYS[2] the change counter, KEYS[3] each line item's last change (member id, score the
-- counter): what a process's cache of the counters reads to know what changed (\`load\`).
local function changed(li)
  redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[2]), li)
end
local function sweepCaps(c, h, now, horizon)
  local gone = redis.call('ZRANGEBYSCORE', h, '-inf', now)
  for i = 1, #gone do redis.call('ZREM', c, gone[i]) end
  redis.call('ZREMRANGEBYSCORE', h, '-inf', now)
  redis.call('ZREMRANGEBYSCORE', c, '-inf', now - horizon)
end
`;

// Read only (nothing swept: the claim, measured and reserved scripts sweep what they touch, and
// every key expires when its last entry would). Each process keeps the counters it read
// (`load`); this script reads only the line items it asks for (not cached, or past their
// earliest reservation's expiry, or of another day) and those changed since the change count
// it has seen, so a decision does not read ~450 line items' keys when 1,000 are active (about
// 2.5 ms of the node's CPU and 2-6 ms of Redis's a decision). A reservation counts while its
// score is after now; a cap time while within the horizon and not of a hold that ended (what
// `delivered`, `daySpent` and `sweepCaps` leave). Key names are built here from the prefix and
// ids (one argument, not a key each), so the script declares `no-cluster`: the shared counters
// need one Redis, not a cluster. KEYS: the mark, the change counter, the change log. ARGV[1]
// now, ARGV[2] the prefix, ARGV[3] the listener ('' for none), ARGV[4] today's epoch day,
// ARGV[5] the mark's value the process has seen, ARGV[6] the change count it has seen, ARGV[7]
// ids to read, one a line, ARGV[8] the capped candidates to read the listener's cap times of,
// one a line: horizon, id. Returns lines: the mark's value, the change count, per line item
// read "n s open daySpent dayOpen firstExpiry id" (s: measured, open: reservations now, the day
// ones of today, firstExpiry: the earliest open reservation's, or inf), an empty line, then per
// capped candidate "count times...".
const loadScript = `#!lua flags=no-writes,no-cluster
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('UNSEEDED') end
local after = '(' .. ARGV[1]
local now = tonumber(ARGV[1])
local p, listener, day = ARGV[2], ARGV[3], ARGV[4]
local epoch = redis.call('GET', KEYS[1])
local out = {epoch, redis.call('GET', KEYS[2]) or '0'}
local function read(id)
  local f = redis.call('HMGET', p .. 'm:' .. id, 'n', 's')
  local r = p .. 'r:' .. id
  local open = redis.call('ZCOUNT', r, after, '+inf')
  local first = redis.call('ZRANGEBYSCORE', r, after, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  local spent = redis.call('GET', p .. 'dm:' .. id .. ':' .. day) or '0'
  local dayOpen = redis.call('ZCOUNT', p .. 'dr:' .. id .. ':' .. day, after, '+inf')
  out[#out + 1] = table.concat({f[1] or '0', f[2] or '0', open, spent, dayOpen, first[2] or 'inf', id}, ' ')
end
local asked = {}
for id in string.gmatch(ARGV[7], '[^\\n]+') do
  asked[id] = true
  read(id)
end
if epoch == ARGV[5] then
  local ids = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[6], '+inf')
  for i = 1, #ids do
    if not asked[ids[i]] then read(ids[i]) end
  end
end
out[#out + 1] = ''
-- The line items the listener has cap times of (claim, measured and the seed add to the set).
local listed = {}
if ARGV[8] ~= '' then
  local ids = redis.call('SMEMBERS', p .. 'cl:' .. listener)
  for i = 1, #ids do listed[ids[i]] = true end
end
for horizon, id in string.gmatch(ARGV[8], '(%S+) ([^\\n]*)') do
  if not listed[id] then
    out[#out + 1] = '0'
  else
  local c, h = p .. 'c:' .. id .. ':' .. listener, p .. 'h:' .. id .. ':' .. listener
  local times = redis.call('ZRANGEBYSCORE', c, '(' .. (now - tonumber(horizon)), '+inf', 'WITHSCORES')
  local ended = redis.call('ZRANGEBYSCORE', h, '-inf', now)
  local gone = {}
  for i = 1, #ended do gone[ended[i]] = true end
  local kept = {}
  for i = 1, #times, 2 do
    if not gone[times[i]] then kept[#kept + 1] = times[i + 1] end
  end
  out[#out + 1] = #kept .. (#kept > 0 and ' ' .. table.concat(kept, ' ') or '')
  end
end
return table.concat(out, '\\n')
`;

// ARGV[1] now; per claim: id, expiresAt, holdUntil, cpm, spendGoal, lt, le, capped, horizon,
// ncaps, then ncaps pairs (period, max), then budget (milli-micros, -1 for none), nsib and the
// cpm of each of the campaign's other line items, then the daily budget (milli-micros, -1 for
// none), then the line item's id. KEYS: the mark, the change counter and log, then m, r
// (+ c, h, cl when capped), m, r of each sibling, dm, dr of this line item today, then (with a daily
// budget) dm, dr of each sibling today. A claim is taken when delivered units < lt, (le < 0 or
// spend + cpm <= le), every cap has room, the campaign's spend + cpm <= budget and its spend
// today + cpm <= the daily budget. A taken claim is an open reservation of today's too.
const claimScript = `${helpers}
local now = tonumber(ARGV[1])
local out = {}
local k, a = 4, 2
while a <= #ARGV do
  local id, expiresAt, holdUntil = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local cpm = tonumber(ARGV[a + 3])
  local m, r = KEYS[k], KEYS[k + 1]
  k = k + 2
  -- This decision's own id may be there already: a seed read its claims-log row (written
  -- before this script) after a loss. It is decided again here, as if absent.
  redis.call('ZREM', r, id)
  local n, s = delivered(m, r, now, cpm)
  local units = n
  if ARGV[a + 4] == '1' then units = s end
  local lt, le = tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6])
  local ok = units < lt and (le < 0 or s + cpm <= le)
  local capped, horizon, ncaps = ARGV[a + 7] == '1', tonumber(ARGV[a + 8]), tonumber(ARGV[a + 9])
  local c, h, cl
  if capped then
    c, h, cl = KEYS[k], KEYS[k + 1], KEYS[k + 2]
    k = k + 3
    redis.call('ZREM', c, id)
    redis.call('ZREM', h, id)
    sweepCaps(c, h, now, horizon)
    for i = 0, ncaps - 1 do
      local period, max = tonumber(ARGV[a + 10 + 2 * i]), tonumber(ARGV[a + 11 + 2 * i])
      -- Up to +inf: a place taken by a process whose clock runs a little ahead counts too.
      if redis.call('ZCOUNT', c, '(' .. (now - period), '+inf') >= max then ok = false end
    end
  end
  -- The campaign's total budget: this line item's spend and its siblings', plus this price.
  local b = a + 10 + 2 * ncaps
  local budget, nsib = tonumber(ARGV[b]), tonumber(ARGV[b + 1])
  local spent = s
  for i = 0, nsib - 1 do
    local _, sibSpend = delivered(KEYS[k], KEYS[k + 1], now, tonumber(ARGV[b + 2 + i]))
    spent = spent + sibSpend
    k = k + 2
  end
  if budget >= 0 and spent + cpm > budget then ok = false end
  -- The daily budget: the spend of the same line items on this UTC day, plus this price.
  local d = b + 2 + nsib
  local daily = tonumber(ARGV[d])
  local dm, dr = KEYS[k], KEYS[k + 1]
  k = k + 2
  redis.call('ZREM', dr, id)
  if daily >= 0 then
    local today = daySpent(dm, dr, now, cpm)
    for i = 0, nsib - 1 do
      today = today + daySpent(KEYS[k], KEYS[k + 1], now, tonumber(ARGV[b + 2 + i]))
      k = k + 2
    end
    if today + cpm > daily then ok = false end
  end
  if ok then
    redis.call('ZADD', r, expiresAt, id)
    extend(r, expiresAt, now)
    redis.call('ZADD', dr, expiresAt, id)
    extend(dr, expiresAt, now)
    if capped then
      redis.call('ZADD', c, now, id)
      redis.call('ZADD', h, holdUntil, id)
      extend(c, now + horizon, now)
      extend(h, now + horizon, now)
      redis.call('SADD', cl, ARGV[d + 1])
      extend(cl, now + horizon, now)
    end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
  changed(ARGV[d + 1])
  a = d + 2
end
return out
`;

// ARGV[1] now; per delivery: sign, id, charged (milli-micros), issuedAt, capped, horizon,
// dayTtlAt, line item id. KEYS: the mark, the change counter and log, then m, r, dm, dr (+ c, h, cl
// when capped), the day keys being those of
// the decision's day. A delivery
// turns its reservation into measured delivery (in the line item's totals and on its decision's
// day) and keeps its cap place for the whole period (its hold ends); a refund takes the
// measured one back.
const measuredScript = `${helpers}
local now = tonumber(ARGV[1])
local k, a = 4, 2
while a <= #ARGV do
  local sign, id, charged, issuedAt = tonumber(ARGV[a]), ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local m, r = KEYS[k], KEYS[k + 1]
  k = k + 2
  if sign > 0 then redis.call('ZREM', r, id) end
  redis.call('HINCRBY', m, 'n', sign)
  redis.call('HINCRBY', m, 's', sign * charged)
  local dm, dr = KEYS[k], KEYS[k + 1]
  k = k + 2
  if sign > 0 then redis.call('ZREM', dr, id) end
  redis.call('INCRBY', dm, sign * charged)
  extend(dm, tonumber(ARGV[a + 6]), now)
  if ARGV[a + 4] == '1' then
    local c, h, cl = KEYS[k], KEYS[k + 1], KEYS[k + 2]
    k = k + 3
    redis.call('ZREM', h, id)
    if not redis.call('ZSCORE', c, id) then redis.call('ZADD', c, issuedAt, id) end
    extend(c, issuedAt + tonumber(ARGV[a + 5]), now)
    redis.call('SADD', cl, ARGV[a + 7])
    extend(cl, issuedAt + tonumber(ARGV[a + 5]), now)
  end
  changed(ARGV[a + 7])
  a = a + 8
end
return 0
`;

// A refused claim's id out of its keys again (a seed may have put it back from its claims-log
// row, read before the row was deleted). KEYS: the mark, the change counter and log, then per
// claim r, dr (+ c, h when capped); ARGV per claim: id, capped, line item id.
const releaseScript = `${helpers}
local k, a = 4, 1
while a <= #ARGV do
  local id = ARGV[a]
  redis.call('ZREM', KEYS[k], id)
  redis.call('ZREM', KEYS[k + 1], id)
  k = k + 2
  if ARGV[a + 1] == '1' then
    redis.call('ZREM', KEYS[k], id)
    redis.call('ZREM', KEYS[k + 1], id)
    k = k + 2
  end
  changed(ARGV[a + 2])
  a = a + 3
end
return 0
`;

// KEYS: r of each line item; ARGV[1] now. Returns each one's open reservations.
const reservedScript = `
local out = {}
for i = 1, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', ARGV[1])
  out[i] = redis.call('ZCARD', KEYS[i])
end
return out
`;

/** What the load script reads for one candidate list, with or without a listener. */
interface LoadItems {
  /** The candidates, then the other line items of their campaigns (total budgets). */
  all: readonly Candidate[];
  /** Per line item of `all`: its id, price and the index of its campaign in `campaignIds`. */
  ids: readonly string[];
  cpm: readonly number[];
  campaignOf: Int32Array;
  campaignIds: readonly string[];
  /** The candidates whose cap times are read (capped, with a listener), in the script's order. */
  capped: readonly Candidate[];
  /** The script's capped candidates (see `loadScript`), encoded once. */
  cappedText: Buffer;
}

/**
 * Per candidate list of the store (`eligibleFor` keeps one per request shape and makes new
 * ones on any model change, so an entry never outlives the model it was built from), with
 * and without a listener: built once, not per decision.
 */
const loadItemsCache = new WeakMap<readonly Candidate[], [LoadItems?, LoadItems?]>();

function loadItems(store: AdsStore, candidates: readonly Candidate[], listener: boolean): LoadItems {
  let cached = loadItemsCache.get(candidates);
  if (!cached) {
    cached = [];
    loadItemsCache.set(candidates, cached);
  }
  const hit = cached[listener ? 1 : 0];
  if (hit) return hit;
  const campaigns = new Set(candidates.map((c) => c.campaign.id));
  const ids = new Set(candidates.map((c) => c.lineItem.id));
  const all = [
    ...candidates,
    ...store.candidates().filter((c) => campaigns.has(c.campaign.id) && !ids.has(c.lineItem.id)),
  ];
  for (const c of all) {
    // Ids go one a line to the script (they are the server's own UUIDs; a space is read back too).
    if (c.lineItem.id.includes('\n')) throw new Error(`line item id ${JSON.stringify(c.lineItem.id)}`);
  }
  const capped = listener ? candidates.filter((c) => c.lineItem.caps.length > 0) : [];
  const cappedText = Buffer.from(
    capped.map((c) => `${capHorizonMs(c.lineItem.caps)} ${c.lineItem.id}`).join('\n'),
  );
  const campaignIds = [...new Set(all.map((c) => c.campaign.id))];
  const campaignIndex = new Map(campaignIds.map((id, i) => [id, i]));
  const items: LoadItems = {
    all,
    ids: all.map((c) => c.lineItem.id),
    cpm: all.map((c) => c.lineItem.cpmMicros),
    campaignOf: Int32Array.from(all, (c) => campaignIndex.get(c.campaign.id)!),
    campaignIds,
    capped,
    cappedText,
  };
  cached[listener ? 1 : 0] = items;
  return items;
}

/** One line item's counters as last read from Redis (`load`). */
interface Counters {
  /** Measured impressions and spend (milli-micros). */
  n: number;
  s: number;
  /** Open reservations, and those of `day`, at `readAt`. */
  open: number;
  daySpent: number;
  dayOpen: number;
  day: number;
  readAt: number;
  /** The earliest open reservation's expiry: the counts hold until then. */
  until: number;
  /** The change count they were read at. */
  v: number;
}

/**
 * Caps and delivery in Redis under `prefix` (the network's SWARMCAST_REDIS_PREFIX plus a
 * name of its own). `capHoldMs`: how long an unmeasured decision holds its cap place (the
 * store's `capHoldMs`).
 */
export function redisSharedDelivery(
  redis: RedisScripts,
  prefix: string,
  o: {
    capHoldMs: number;
    /** Where lost counters are seeded from (shared-seed.ts; the node: `loadDeliverySeed`). Default: nothing. */
    seed?: SeedSource;
    /**
     * Where each claim is recorded before it is made (shared-claims.ts; the node: `dbClaimLog`),
     * so a seed after a loss has the open reservations and cap holds. Without it they are lost
     * with Redis.
     */
    claims?: ClaimLog;
    /** How long a decision waits for another process to seed (default 2 s). */
    seedWaitMs?: number;
  },
): SharedDelivery {
  const mark = `${prefix}seeded`;
  // The change counter and log every counter script writes (`changed` in the scripts).
  const vKey = `${prefix}changes`;
  const changedKey = `${prefix}changed`;
  /** The counters this process read, valid with the mark's value (`epoch`) they were read under. */
  const cache = { epoch: '', version: 0, items: new Map<string, Counters>() };
  // A line item's entry is one object for the process's life (updated in place), so each
  // candidate list keeps its entries in an array: no lookup per line item and decision.
  const counterOf = (id: string): Counters => {
    let x = cache.items.get(id);
    if (!x) {
      x = { n: 0, s: 0, open: 0, daySpent: 0, dayOpen: 0, day: -1, readAt: Number.NaN, until: 0, v: -1 };
      cache.items.set(id, x);
    }
    return x;
  };
  const entries = new WeakMap<LoadItems, Counters[]>();
  const m = (li: string) => `${prefix}m:${li}`;
  const r = (li: string) => `${prefix}r:${li}`;
  const c = (li: string, listener: string) => `${prefix}c:${li}:${listener}`;
  const h = (li: string, listener: string) => `${prefix}h:${li}:${listener}`;
  const cl = (listener: string) => `${prefix}cl:${listener}`;
  const dm = (li: string, day: number) => `${prefix}dm:${li}:${day}`;
  const dr = (li: string, day: number) => `${prefix}dr:${li}:${day}`;
  // A day's counters outlive the day by one more (a reservation made at 23:59 is measured
  // after midnight but still counts on its own day).
  const dayTtlAt = (day: number) => (day + 2) * dayMs;
  const seedKeys: SeedKeys = { mark, lock: `${prefix}seeding`, m, r, dm, dr, c, h, cl };
  const token = randomUUID();
  const evalScript = scriptRunner(redis);
  let seeding: Promise<void> | null = null;
  // Runs a counter script; refused for lost counters (UNSEEDED), seeds them once and runs again
  // (unless `seed` is false: the caller seeds, see `measured`).
  const run = async (
    script: string,
    keys: string[],
    args: Array<string | number | Buffer>,
    now: number,
    seed = true,
  ) => {
    const call = () => evalScript(script, keys.length + 3, mark, vKey, changedKey, ...keys, ...args);
    try {
      return await call();
    } catch (err) {
      if (!seed || !isUnseeded(err)) throw err;
    }
    await ready(now);
    return call();
  };
  // Seeds the counters unless they are (one seeding at a time in this process).
  const ready = (now: number): Promise<void> => {
    seeding ??= seedCounters(redis, seedKeys, o.seed ?? emptySeed, now, {
      token,
      // A seeder that dies mid-seed holds the others (no ads: 503) until its lock expires;
      // a seed that takes longer is written twice (the same values), not wrongly.
      lockMs: 15_000,
      waitMs: o.seedWaitMs ?? 2000,
      dayTtlAt,
    }).finally(() => {
      seeding = null;
    });
    return seeding;
  };

  return {
    ready,

    async load(store, candidates, listenerId, now) {
      if (candidates.length === 0) return;
      const items = loadItems(store, candidates, listenerId !== null);
      let refs = entries.get(items);
      if (!refs) {
        refs = items.ids.map(counterOf);
        entries.set(items, refs);
      }
      const day = epochDay(now);
      // What the cache cannot answer: never read, a reservation expired since, another day or
      // an earlier clock (a reservation then still open). The rest is as read unless the change
      // log names it (every script that changes a line item's counters logs it).
      const fresh = (x: Counters) => x.day === day && x.readAt <= now && now < x.until;
      const ask = async () => {
        const read: string[] = [];
        refs.forEach((x, i) => {
          if (!fresh(x)) read.push(items.ids[i]!);
        });
        const lines = String(
          await run(
            loadScript,
            [],
            [
              now,
              prefix,
              listenerId ?? '',
              day,
              cache.epoch,
              cache.version,
              read.join('\n'),
              items.cappedText,
            ],
            now,
          ),
        ).split('\n');
        const v = Number(lines[1]);
        if (lines[0] !== cache.epoch) {
          // Seeded again since (Redis lost its keys): nothing cached holds.
          for (const x of cache.items.values()) {
            x.readAt = Number.NaN;
            x.v = -1;
          }
          cache.epoch = lines[0]!;
          cache.version = 0;
        }
        let i = 2;
        for (; lines[i] !== ''; i++) {
          const f = lines[i]!.split(' ');
          const x = counterOf(f.length === 7 ? f[6]! : f.slice(6).join(' '));
          if (x.v > v) continue; // an older answer (a retry) arriving late
          x.n = Number(f[0]);
          x.s = Number(f[1]);
          x.open = Number(f[2]);
          x.daySpent = Number(f[3]);
          x.dayOpen = Number(f[4]);
          x.until = f[5] === 'inf' ? Number.POSITIVE_INFINITY : Number(f[5]);
          x.day = day;
          x.readAt = now;
          x.v = v;
        }
        cache.version = Math.max(cache.version, v);
        return lines.slice(i + 1);
      };
      let caps = await ask();
      // A new epoch with some line items not asked for (they were cached): ask once more.
      if (refs.some((x) => Number.isNaN(x.readAt))) caps = await ask();
      const sums = new Float64Array(items.campaignIds.length * 2);
      refs.forEach((x, i) => {
        const cpm = items.cpm[i]!;
        const spend = x.s + x.open * cpm;
        store.useSharedDelivery(items.ids[i]!, { impressions: x.n + x.open, spendMilliMicros: spend });
        const k = items.campaignOf[i]! * 2;
        sums[k]! += spend;
        sums[k + 1]! += x.daySpent + x.dayOpen * cpm;
      });
      items.campaignIds.forEach((id, j) => {
        store.useSharedCampaignSpend(id, sums[2 * j]!, { day, spendMilliMicros: sums[2 * j + 1]! });
      });
      items.capped.forEach((cand, i) => {
        const line = caps[i]!;
        const times = line === '0' ? [] : line.split(' ').slice(1).map(Number);
        store.useSharedSeen(listenerId!, cand.lineItem.id, times);
      });
    },

    async claim(slots, req) {
      if (slots.length === 0) return [];
      const keys: string[] = [];
      const args: Array<string | number> = [req.now];
      const day = epochDay(req.now);
      const holdUntil = Math.min(req.expiresAt, req.now + o.capHoldMs);
      const isCapped = (li: LineItem) => req.listenerId !== null && li.caps.length > 0;
      const records: ClaimRecord[] = slots.map((slot, i) => {
        const li = slot.candidate.lineItem;
        const capped = isCapped(li);
        return {
          decisionId: req.decisionIds[i]!,
          lineItemId: li.id,
          listenerId: capped ? req.listenerId : null,
          issuedAt: req.now,
          expiresAt: req.expiresAt,
          holdUntil: capped ? holdUntil : req.now,
          keepUntil: capped ? Math.max(req.expiresAt, req.now + capHorizonMs(li.caps)) : req.expiresAt,
        };
      });
      slots.forEach((slot, i) => {
        const cand = slot.candidate;
        const li = cand.lineItem;
        const flight = flightOf(cand);
        const capped = isCapped(li);
        const spendGoal = li.goal.kind === 'spend';
        const total = goalTotal(li.goal);
        // The pacing rule (pacing.ts) checked again on the shared delivery; a spend goal must
        // also have room for this price.
        const ceiling = paceCeiling(
          total,
          flight.startsAt,
          flight.endsAt,
          li.pacing,
          req.now,
          req.pace ?? defaultPaceSettings,
          li.targeting.dayParts,
        );
        keys.push(m(li.id), r(li.id));
        if (capped) keys.push(c(li.id, req.listenerId!), h(li.id, req.listenerId!), cl(req.listenerId!));
        args.push(
          req.decisionIds[i]!,
          req.expiresAt,
          holdUntil,
          li.cpmMicros,
          spendGoal ? 1 : 0,
          ceiling,
          spendGoal ? total : -1,
          capped ? 1 : 0,
          capHorizonMs(li.caps),
          capped ? li.caps.length : 0,
          ...(capped ? li.caps.flatMap((cap) => [cap.periodMs, cap.max]) : []),
        );
        const siblings = (req.siblings?.(cand) ?? []).filter((x) => x.lineItem.id !== li.id);
        args.push(cand.campaign.totalBudgetMicros * 1000, siblings.length);
        for (const sib of siblings) {
          keys.push(m(sib.lineItem.id), r(sib.lineItem.id));
          args.push(sib.lineItem.cpmMicros);
        }
        const daily = cand.campaign.dailyBudgetMicros > 0 ? cand.campaign.dailyBudgetMicros * 1000 : -1;
        args.push(daily, li.id);
        keys.push(dm(li.id, day), dr(li.id, day));
        if (daily >= 0)
          for (const sib of siblings) keys.push(dm(sib.lineItem.id, day), dr(sib.lineItem.id, day));
      });
      // Durable before Redis holds it: a seed after a loss then finds every claim Redis had.
      await o.claims?.record(records);
      let out: number[];
      try {
        out = (await run(claimScript, keys, args, req.now)) as number[];
      } catch (err) {
        // Not served: its rows would come back as reservations at the next seed.
        await o.claims?.forget(records.map((x) => x.decisionId)).catch(() => {});
        throw err;
      }
      const taken = out.map((x) => Number(x) === 1);
      const refused = records.filter((_, i) => !taken[i]);
      if (o.claims && refused.length > 0) {
        await o.claims.forget(refused.map((x) => x.decisionId));
        // After the rows are gone: a seed that read them before put them back in Redis.
        const rk: string[] = [];
        const ra: Array<string | number> = [];
        for (const x of refused) {
          rk.push(r(x.lineItemId), dr(x.lineItemId, day));
          if (x.listenerId !== null) rk.push(c(x.lineItemId, x.listenerId), h(x.lineItemId, x.listenerId));
          ra.push(x.decisionId, x.listenerId !== null ? 1 : 0, x.lineItemId);
        }
        await run(releaseScript, rk, ra, req.now);
      }
      return taken;
    },

    async measured(store, deliveries, now) {
      const keys: string[] = [];
      const args: Array<string | number> = [now];
      for (const d of deliveries) {
        const li = store.lineItems.get(d.lineItemId);
        const campaign = li && store.campaigns.get(li.campaignId);
        if (!li || !campaign) continue;
        const sign = d.kind === 'delivered' ? 1 : -1;
        const capped = sign > 0 && d.listenerId !== null && li.caps.length > 0;
        const day = epochDay(d.issuedAt);
        keys.push(m(li.id), r(li.id), dm(li.id, day), dr(li.id, day));
        if (capped) keys.push(c(li.id, d.listenerId!), h(li.id, d.listenerId!), cl(d.listenerId!));
        args.push(
          sign,
          d.decisionId,
          d.chargedMicros * 1000,
          d.issuedAt,
          capped ? 1 : 0,
          capHorizonMs(li.caps),
          dayTtlAt(day),
          li.id,
        );
      }
      // Not seeded from here: the caller may hold the seed's lock (shared-claims.ts) in the
      // transaction recording these; it seeds (`ready`) after rolling back and applies again.
      if (keys.length > 0) await run(measuredScript, keys, args, now, false);
    },

    async reserved(lineItems, now) {
      if (lineItems.length === 0) return [];
      const keys = lineItems.map((li) => r(li.id));
      const out = (await evalScript(reservedScript, keys.length, ...keys, now).catch((err: unknown) => {
        // Said as such to the operator (a 503 with a code), not as an internal error.
        throw isRedisUnavailable(err) ? new AdsFailure('ADS_SHARED_STATE_UNAVAILABLE', err) : err;
      })) as number[];
      return lineItems.map((li, i) => ({
        impressions: Number(out[i]),
        spendMilliMicros: Number(out[i]) * li.cpmMicros,
      }));
    },
  };
}

import {
  type DecisionClaims,
  type MeasuredDelivery,
  type PublicKeys,
  type SignatureMemo,
  type VerifyResult,
  verifyDecisionToken,
} from '@swarmcast/ads';
import {
  type BasisPoints,
  defaultCreatorShareBps,
  impressionEntry,
  impressionPrice,
  Ledger,
} from '@swarmcast/ledger';
import {
  type AnnounceFact,
  type Clock,
  type DownloadFact,
  type StreamEvent,
  systemClock,
  type Transaction,
} from '@swarmcast/platform';
import {
  type AdBeaconEvent,
  type AdOpportunityEvent,
  type EdgeInfo,
  type PlayBeaconEvent,
  subjects,
} from '../beacon-types.ts';
import { type HeldAdBeacon, releaseHeldBeacons } from '../rules/ad-hold.ts';
import {
  type AdJudgement,
  type AdTimingRules,
  type DecisionState,
  defaultAdTimingRules,
  judgeAdBeacon,
} from '../rules/ad-sequence.ts';
import { defaultHoldMs, heldUntil, maxHeldPerKey } from '../rules/hold.ts';
import { defaultIvtRules, hourMs, type IvtRules, ivtReason, listenerIdReason } from '../rules/ivt.ts';
import {
  defaultPlayRules,
  type HeldPlayBeacon,
  type PlayRules,
  type PlaySession,
  releaseHeldPlays,
} from '../rules/play-sequence.ts';
import { deliveryOf, enqueueDeliveries } from './outbox.ts';

export interface PipelineOptions {
  /** Public keys of the ad server's decision signers (called per batch: keys rotate). */
  publicKeys: () => PublicKeys;
  /** The creator's share of each impression's price; default 7000 bps (70 %). */
  creatorShareBps?: BasisPoints;
  ivtRules?: IvtRules;
  adTiming?: AdTimingRules;
  playRules?: PlayRules;
  /** The listener-id bound per audience key and day (default `maxListenerIdsPerKeyDay`, 8). */
  maxListenerIdsPerKeyDay?: number;
  /**
   * How long a beacon whose predecessor has not been judged yet (an ad quartile before any
   * `start`, a play `progress` before its session's `start`) is held for it, from when it is
   * first judged (default `defaultHoldMs`, 60 s; 0 judges it out of order at once). See
   * rules/hold.ts.
   */
  holdMs?: number;
  /** Processing time, for the holds only (every rule uses the events' `receivedAt`). */
  clock?: Clock;
}

export interface BatchResult {
  /** Events seen for the first time (the rest were redeliveries, skipped). */
  processed: number;
  redelivered: number;
  impressionsCharged: number;
  refunds: number;
  /** Ad and play beacons held for a predecessor not judged yet (rules/hold.ts). */
  held: number;
  /** Held beacons judged in this batch (their predecessor came, or their hold ended). */
  released: number;
}

const tokenReason: Record<string, string> = {
  ADS_TOKEN_FORGED: 'forged',
  ADS_TOKEN_EXPIRED: 'expired',
  ADS_TOKEN_MALFORMED: 'malformed',
  ADS_TOKEN_UNKNOWN_KEY: 'unknown-key',
};

function receivedAt(e: StreamEvent): number {
  const d = e.data as { receivedAt?: number; time?: number };
  return d.receivedAt ?? d.time ?? 0;
}

interface DecisionRow extends DecisionState {
  claims: DecisionClaims;
  impressionAt: number | null;
  exists: boolean;
  /** Beacons held for a predecessor (stored with the decision's state). */
  held: HeldAdBeacon[];
}

/**
 * Processes one batch from the stream inside one transaction: either every effect of the
 * batch (rows, ledger entries, the processed-id marks) commits, or none does and the
 * stream redelivers it. Events whose id was processed before are skipped, so a redelivered
 * batch never double counts.
 *
 * The gate only reads which ids were processed; the marks (with each event's reason) are
 * written once the batch is judged, in one INSERT. Marking first and setting the reasons
 * after was an UPDATE of every filtered event's indexed row, the costliest statement of a
 * batch of invalid beacons (beacons bench). Should another consumer mark one of these
 * events in between (a redelivery racing the first delivery), the INSERT finds its row and
 * the batch fails whole: rolled back, delivered again, and then skipped by the gate.
 */
export async function processBatch(
  tx: Transaction,
  events: StreamEvent[],
  o: PipelineOptions,
): Promise<BatchResult> {
  const result: BatchResult = {
    processed: 0,
    redelivered: 0,
    impressionsCharged: 0,
    refunds: 0,
    held: 0,
    released: 0,
  };
  const unique = [...new Map(events.map((e) => [e.id, e])).values()];
  const gate = await tx.query<{ id: string }>('SELECT id FROM measure_events WHERE id = ANY($1::text[])', [
    unique.map((e) => e.id),
  ]);
  const processedBefore = new Set(gate.rows.map((r) => r.id));
  const todo = unique.filter((e) => !processedBefore.has(e.id));
  const todoIds = new Set(todo.map((e) => e.id));
  result.processed = todo.length;
  result.redelivered = events.length - todo.length;
  if (todo.length === 0) return result;

  const keys = o.publicKeys();
  // One Ed25519 check per pod signature in this batch, not one per beacon (see ads).
  const signatures: SignatureMemo = new Map();
  const shareBps = o.creatorShareBps ?? defaultCreatorShareBps;
  const ledger = new Ledger(tx);
  /** Each judged event's reason; null only for a held beacon judged valid now. */
  const reasons = new Map<string, string | null>();
  const now = (o.clock ?? systemClock).now();
  const holdMs = o.holdMs ?? defaultHoldMs;
  const timing = o.adTiming ?? defaultAdTimingRules;
  // Each ad beacon's token is checked once here, for the decision locks and the judging.
  const tokens = new Map<string, VerifyResult>();
  for (const e of todo) {
    if (e.subject !== subjects.adBeacon) continue;
    const b = e.data as AdBeaconEvent;
    tokens.set(e.id, verifyDecisionToken(b.token, keys, b.receivedAt, signatures));
  }
  const storedDecisions = await lockDecisions(tx, tokens.values());
  const storedSessions = await lockPlaySessions(tx, todo);
  const rates = await loadRates(tx, todo);
  const decisions = new Map<string, DecisionRow>();
  /** Each play session the batch touches: its state, held beacons and the batch's beacons. */
  const sessions = new Map<string, SessionWork>();
  const episodes = new Map<string, number | null>();
  const adRows: AdEventRow[] = [];
  const outbox: MeasuredDelivery[] = [];
  const playRows: PlayEventRow[] = [];

  const canonicalHashes = new Map<string, string | null>();
  const keyListeners = await loadKeyListeners(tx, todo);
  const newKeyListeners: [string, number, string][] = [];
  /** The listener-id bound (rules/ivt.ts) for one beacon's key, day and id. */
  const listenerIvt = (edge: EdgeInfo, at: number, listenerId: string | null) => {
    if (listenerId === null) return null;
    const day = Math.floor(at / 86_400_000);
    const k = `${edge.audienceKey}\u0000${day}`;
    let seen = keyListeners.get(k);
    if (!seen) {
      seen = new Set();
      keyListeners.set(k, seen);
    }
    const before = seen.size;
    const reason = listenerIdReason(seen, listenerId, o.maxListenerIdsPerKeyDay);
    if (seen.size > before) newKeyListeners.push([edge.audienceKey, day, listenerId]);
    return reason;
  };
  const ivtFor = (edge: EdgeInfo, at: number) => {
    const k = `${edge.audienceKey}\u0000${Math.floor(at / hourMs)}`;
    const n = (rates.get(k) ?? 0) + 1;
    rates.set(k, n);
    return ivtReason(edge, n, o.ivtRules ?? defaultIvtRules);
  };

  /**
   * Impressions judged chargeable, posted to the ledger together (`postMany`: three
   * statements for the batch instead of three per impression) in the order judged, each
   * with its measured delivery for the ad server once written.
   */
  const charges: { claims: DecisionClaims; at: number }[] = [];
  const postCharges = async () => {
    if (charges.length === 0) return;
    const judged = charges.splice(0);
    const posted = await ledger.postMany(
      judged.map(({ claims, at }) =>
        impressionEntry(
          {
            decisionId: claims.decisionId,
            advertiserId: claims.advertiserId,
            creatorId: claims.creatorId,
            cpmMicros: claims.cpmMicros,
            time: at,
          },
          shareBps,
        ),
      ),
    );
    posted.forEach((p, k) => {
      if (!p.ok || !p.written) return;
      const { claims, at } = judged[k]!;
      result.impressionsCharged++;
      outbox.push(deliveryOf('delivered', claims, at, impressionPrice(claims.cpmMicros)));
    });
  };

  /** Records one ad beacon's judgement against its decision (`wasHeld`: its row says `held`). */
  const applyAd = async (
    d: DecisionRow,
    b: HeldAdBeacon | AdBeaconEvent,
    j: AdJudgement,
    wasHeld: boolean,
  ) => {
    const claims = d.claims;
    d.seen = j.state.seen;
    d.invalid = j.state.invalid;
    if (j.reason || wasHeld) reasons.set(b.id, j.reason);
    adRows.push([b.id, claims.decisionId, b.event, j.reason, b.receivedAt, b.audienceKey]);
    if (j.countImpression) {
      d.impressionAt = b.receivedAt;
      charges.push({ claims, at: b.receivedAt });
    }
    if (j.invalidateDecision) {
      // The refund reads the impression's entry: post the charges judged so far first.
      await postCharges();
      const refunded = await ledger.refundImpression(claims.decisionId, b.receivedAt);
      if (refunded.ok && refunded.written) {
        result.refunds++;
        outbox.push(deliveryOf('refunded', claims, b.receivedAt, impressionPrice(claims.cpmMicros)));
      }
    }
  };

  for (const e of todo) {
    switch (e.subject) {
      case subjects.download: {
        const f = e.data as DownloadFact;
        await tx.query(
          'INSERT INTO measure_downloads (id, time, audience_key, path, fact) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
          [e.id, f.time, f.audienceKey, f.path, JSON.stringify(f)],
        );
        break;
      }
      case subjects.announce: {
        // Stored under the episode's canonical info-hash whichever of its torrents was
        // announced (hybrid v1, truncated v2, v1-only companion); the announced one is kept.
        const announced = e.data as AnnounceFact;
        if (!canonicalHashes.has(announced.infoHash)) {
          const r = await tx.query<{ info_hash: string | null }>(
            `SELECT e.info_hash FROM measure_episode_hashes h JOIN measure_episodes e ON e.episode_id = h.episode_id
             WHERE h.info_hash = $1`,
            [announced.infoHash],
          );
          canonicalHashes.set(announced.infoHash, r.rows[0]?.info_hash ?? null);
        }
        const canonical = canonicalHashes.get(announced.infoHash);
        const f: AnnounceFact & { announcedInfoHash?: string } =
          canonical && canonical !== announced.infoHash
            ? { ...announced, infoHash: canonical, announcedInfoHash: announced.infoHash }
            : announced;
        await tx.query(
          `INSERT INTO measure_announces (id, time, audience_key, info_hash, event, left_bytes, fact)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
          [e.id, f.time, f.audienceKey, f.infoHash, f.event, f.left, JSON.stringify(f)],
        );
        break;
      }
      case subjects.opportunity: {
        const f = e.data as AdOpportunityEvent;
        await tx.query(
          `INSERT INTO measure_opportunities (id, time, episode_id, break_id, slots, filled)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
          [e.id, f.time, f.episodeId, f.breakId, f.slots, f.filled],
        );
        break;
      }
      case subjects.adBeacon: {
        const b = e.data as AdBeaconEvent;
        // Every beacon received counts toward its key's rate, whatever its token: a key that
        // just sent thousands of forged or expired beacons gets its next one judged `rate`.
        const ivt = ivtFor(b, b.receivedAt);
        const verified = tokens.get(e.id)!;
        if (!verified.ok) {
          const reason = tokenReason[verified.error.code] ?? 'malformed';
          reasons.set(e.id, reason);
          adRows.push([e.id, null, b.event, reason, b.receivedAt, b.audienceKey]);
          break;
        }
        const claims = verified.claims;
        let d = decisions.get(claims.decisionId);
        if (!d) {
          d = decisionRow(claims, storedDecisions.get(claims.decisionId));
          decisions.set(claims.decisionId, d);
        }
        const j = judgeAdBeacon(d, b, claims, ivt ?? listenerIvt(b, b.receivedAt, claims.listenerId), timing);
        if (j.awaiting !== null && holdMs > 0 && d.held.length < maxHeldPerKey) {
          // Its predecessor may be in a batch another consumer has not committed yet: held
          // with the decision, judged after this batch's beacons or a later batch's.
          d.held.push({
            id: e.id,
            event: b.event,
            receivedAt: b.receivedAt,
            adPlayheadMs: b.adPlayheadMs,
            offsetMs: b.offsetMs,
            audienceKey: b.audienceKey,
            until: now + holdMs,
          });
          reasons.set(e.id, 'held');
          result.held++;
          break;
        }
        await applyAd(d, b, j, false);
        break;
      }
      case subjects.playBeacon: {
        const p = e.data as PlayBeaconEvent;
        const b = p.beacon;
        if (!episodes.has(b.episodeId)) {
          const r = await tx.query<{ duration_ms: number }>(
            'SELECT duration_ms FROM measure_episodes WHERE episode_id = $1',
            [b.episodeId],
          );
          episodes.set(b.episodeId, r.rows[0] ? Number(r.rows[0].duration_ms) : null);
        }
        let s = sessions.get(b.sessionId);
        if (!s) {
          const stored = storedSessions.get(b.sessionId);
          s = {
            session: stored?.session ?? null,
            row: p,
            held: stored?.held ?? [],
            hadHeld: (stored?.held.length ?? 0) > 0,
            batch: new Map(),
          };
          sessions.set(b.sessionId, s);
        }
        // Rates count the beacon now, as it arrives; it is judged with its session's other
        // beacons and held ones after the loop (the play rules depend on their order).
        s.batch.set(e.id, {
          event: p,
          held: {
            id: e.id,
            receivedAt: p.receivedAt,
            until: now + holdMs,
            beacon: b,
            ivt: ivtFor(p, p.receivedAt) ?? listenerIvt(p, p.receivedAt, b.listenerId),
            publishedDurationMs: episodes.get(b.episodeId) ?? null,
          },
        });
        break;
      }
      default:
        reasons.set(e.id, 'unknown-subject');
    }
  }

  // Each play session's beacons of this batch with those held for its start, in receive order:
  // judged, or held while their start has not been judged and their hold lasts.
  for (const [sessionId, s] of sessions) {
    const release = releaseHeldPlays(
      s.session,
      [...s.held, ...[...s.batch.values()].map((x) => x.held)],
      now,
      o.playRules ?? defaultPlayRules,
    );
    let session = s.session;
    for (const { beacon: h, judgement: j } of release.judged) {
      const mine = s.batch.get(h.id);
      if (!mine) result.released++;
      if (j.reason || !mine) reasons.set(h.id, j.reason);
      // The beacon that opens the session (a start: never held, so one of this batch's) gives
      // its row the client classes it is reported by.
      if (j.session && !session && mine) s.row = mine.event;
      session = j.session;
      playRows.push([h.id, sessionId, h.beacon.event, j.reason, h.receivedAt]);
    }
    for (const h of release.held) {
      if (!s.batch.has(h.id)) continue;
      reasons.set(h.id, 'held');
      result.held++;
    }
    s.session = release.state;
    s.held = release.held;
  }

  // Held beacons of every decision this batch touched, judged after its beacons: those whose
  // predecessor came (here or before) or whose hold has passed; the rest stay held.
  for (const d of decisions.values()) {
    if (d.held.length === 0) continue;
    const release = releaseHeldBeacons(d, d.held, d.claims, now, timing);
    d.held = release.held;
    for (const { beacon, judgement } of release.judged) {
      result.released++;
      await applyAd(d, beacon, judgement, true);
    }
  }

  await markProcessed(tx, todo, reasons);
  // Held beacons of earlier batches judged now: their marks say `held` until here.
  const judgedBefore = [...reasons].filter(([id]) => !todoIds.has(id));
  if (judgedBefore.length > 0) {
    await tx.query(
      `UPDATE measure_events m SET reason = u.reason FROM unnest($1::text[], $2::text[]) AS u(id, reason)
       WHERE m.id = u.id`,
      [judgedBefore.map(([id]) => id), judgedBefore.map(([, reason]) => reason)],
    );
  }
  await postCharges();
  await saveDecisions(tx, decisions);
  // Measured delivery for the ad server, in the order it happened, in one statement.
  await enqueueDeliveries(tx, outbox);
  await saveSessions(tx, sessions);
  await saveHeldPlays(tx, sessions);
  await insertAdEvents(tx, adRows);
  await insertPlayEvents(tx, playRows);
  await saveRates(tx, rates);
  if (newKeyListeners.length > 0) {
    await tx.query(
      `INSERT INTO measure_key_listeners (audience_key, day, listener_id)
       SELECT * FROM unnest($1::text[], $2::int[], $3::text[]) ON CONFLICT DO NOTHING`,
      [0, 1, 2].map((i) => newKeyListeners.map((r) => r[i])),
    );
  }
  return result;
}

/** A judged ad beacon: event id, decision id (null: no valid token), event, reason, receivedAt, key. */
export type AdEventRow = [string, string | null, string, string | null, number, string];
/** A judged play beacon: event id, session id, event, reason, receivedAt. */
export type PlayEventRow = [string, string, string, string | null, number];

/** Judged ad beacons' rows, one statement (by a batch, or by the hold sweep). */
export async function insertAdEvents(tx: Transaction, rows: readonly AdEventRow[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.query(
    `INSERT INTO measure_ad_events (event_id, decision_id, event, reason, received_at, audience_key)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[])`,
    [0, 1, 2, 3, 4, 5].map((i) => rows.map((r) => r[i])),
  );
}

/** Judged play beacons' rows, one statement (by a batch, or by the hold sweep). */
export async function insertPlayEvents(tx: Transaction, rows: readonly PlayEventRow[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.query(
    `INSERT INTO measure_play_events (event_id, session_id, event, reason, received_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])`,
    [0, 1, 2, 3, 4].map((i) => rows.map((r) => r[i])),
  );
}

/** Marks the batch's events processed, each with its reason (null: valid); see processBatch. */
async function markProcessed(tx: Transaction, todo: StreamEvent[], reasons: Map<string, string | null>) {
  const marked = await tx.query<{ id: string }>(
    `INSERT INTO measure_events (id, subject, received_at, reason)
     SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) ON CONFLICT (id) DO NOTHING RETURNING id`,
    [
      todo.map((e) => e.id),
      todo.map((e) => e.subject),
      todo.map(receivedAt),
      todo.map((e) => reasons.get(e.id) ?? null),
    ],
  );
  if (marked.rows.length !== todo.length) {
    throw new Error(
      `${todo.length - marked.rows.length} of the batch's events were processed by another consumer meanwhile; the batch is delivered again`,
    );
  }
}

async function loadKeyListeners(tx: Transaction, events: StreamEvent[]): Promise<Map<string, Set<string>>> {
  const keys = new Set<string>();
  for (const e of events) {
    const d = e.data as Partial<EdgeInfo>;
    if ((e.subject === subjects.adBeacon || e.subject === subjects.playBeacon) && d.audienceKey)
      keys.add(d.audienceKey);
  }
  const out = new Map<string, Set<string>>();
  if (keys.size === 0) return out;
  const r = await tx.query<{ audience_key: string; day: number; listener_id: string }>(
    'SELECT audience_key, day, listener_id FROM measure_key_listeners WHERE audience_key = ANY($1::text[])',
    [[...keys]],
  );
  for (const row of r.rows) {
    const k = `${row.audience_key}\u0000${Number(row.day)}`;
    let set = out.get(k);
    if (!set) {
      set = new Set();
      out.set(k, set);
    }
    set.add(row.listener_id);
  }
  return out;
}

async function loadRates(tx: Transaction, events: StreamEvent[]): Promise<Map<string, number>> {
  const keys = new Set<string>();
  for (const e of events) {
    const d = e.data as Partial<EdgeInfo>;
    if ((e.subject === subjects.adBeacon || e.subject === subjects.playBeacon) && d.audienceKey)
      keys.add(d.audienceKey);
  }
  const out = new Map<string, number>();
  if (keys.size === 0) return out;
  const r = await tx.query<{ audience_key: string; hour: number; n: number }>(
    'SELECT audience_key, hour, n FROM measure_rates WHERE audience_key = ANY($1::text[])',
    [[...keys]],
  );
  for (const row of r.rows) out.set(`${row.audience_key}\u0000${Number(row.hour)}`, Number(row.n));
  return out;
}

async function saveRates(tx: Transaction, rates: Map<string, number>): Promise<void> {
  if (rates.size === 0) return;
  const ks: string[] = [];
  const hs: number[] = [];
  const ns: number[] = [];
  for (const [k, n] of rates) {
    const [key, hour] = k.split('\u0000') as [string, string];
    ks.push(key);
    hs.push(Number(hour));
    ns.push(n);
  }
  await tx.query(
    `INSERT INTO measure_rates (audience_key, hour, n) SELECT * FROM unnest($1::text[], $2::bigint[], $3::int[])
     ON CONFLICT (audience_key, hour) DO UPDATE SET n = EXCLUDED.n`,
    [ks, hs, ns],
  );
}

/** Advisory lock class of a decision's state row ("SMD1"); the key is the id's hash. */
const DECISION_LOCK_CLASS = 0x534d4431;

/**
 * Several pipeline consumers share the stream, so two may judge beacons of one decision at
 * once. Its state (the events seen, invalid, impression time) is read, judged and written
 * whole: without a lock both read the same state and the later write drops the other's
 * events (an honest start then looked out of order). Each batch takes a transaction-scoped
 * lock per decision it touches before reading any, so the second waits for the first to
 * commit and reads its result. Locks are taken in id order so two batches never deadlock.
 * A row that does not exist yet is covered too, which a row lock (FOR UPDATE) would not be.
 *
 * The locks and the read of the stored state are one statement each for the whole batch:
 * per decision they were three statements (lock, read, and the write in `saveDecisions`),
 * most of the pipeline's time on PGlite. The locks are held to the end of the transaction,
 * so the state read here is the state the batch's judgements and writes are based on.
 */
async function lockDecisions(
  tx: Transaction,
  tokens: Iterable<VerifyResult>,
): Promise<Map<string, StoredDecision>> {
  const ids = new Set<string>();
  for (const verified of tokens) if (verified.ok) ids.add(verified.claims.decisionId);
  const stored = new Map<string, StoredDecision>();
  if (ids.size === 0) return stored;
  const sorted = [...ids].sort();
  await lockDecisionIds(tx, sorted);
  const r = await tx.query<StoredDecision & { decision_id: string }>(
    'SELECT decision_id, seen, invalid, impression_at, held FROM measure_decisions WHERE decision_id = ANY($1::text[])',
    [sorted],
  );
  for (const row of r.rows) stored.set(row.decision_id, row);
  return stored;
}

interface StoredDecision {
  seen: DecisionState['seen'];
  invalid: string | null;
  impression_at: number | null;
  held: HeldAdBeacon[] | null;
}

/**
 * Holds the locks of decisions `sorted` (ids in ascending order, so two batches never
 * deadlock) until the transaction ends. unnest yields the array's order.
 */
export async function lockDecisionIds(tx: Transaction, sorted: readonly string[]): Promise<void> {
  await tx.query('SELECT count(pg_advisory_xact_lock($1, hashtext(id))) FROM unnest($2::text[]) AS id', [
    DECISION_LOCK_CLASS,
    sorted,
  ]);
}

/** Advisory lock class of a play session's state row ("SMP1"); the key is the id's hash. */
const SESSION_LOCK_CLASS = 0x534d5031;

/**
 * A play session's state (last seq, listened time, completed...) is read, judged and written
 * whole, like a decision's: two consumers judging beacons of one session at once both read
 * the same row and the later write dropped the other's (a `complete` lost, listened time
 * going back). Each batch locks the sessions it touches, in id order and after its
 * decisions (every batch takes them in that order, so none deadlock), then reads them and
 * their held beacons in one statement.
 */
async function lockPlaySessions(tx: Transaction, events: StreamEvent[]): Promise<Map<string, StoredSession>> {
  const ids = new Set<string>();
  for (const e of events) {
    if (e.subject === subjects.playBeacon) ids.add((e.data as PlayBeaconEvent).beacon.sessionId);
  }
  if (ids.size === 0) return new Map();
  const sorted = [...ids].sort();
  await lockSessionIds(tx, sorted);
  return readPlaySessions(tx, sorted);
}

/** Holds the locks of play sessions `sorted` (ids in ascending order) until the transaction ends. */
export async function lockSessionIds(tx: Transaction, sorted: readonly string[]): Promise<void> {
  await tx.query('SELECT count(pg_advisory_xact_lock($1, hashtext(id))) FROM unnest($2::text[]) AS id', [
    SESSION_LOCK_CLASS,
    sorted,
  ]);
}

/** A play session as stored: its state (null before its start) and the beacons held for it. */
export interface StoredSession {
  session: PlaySession | null;
  held: HeldPlayBeacon[];
}

/**
 * Play sessions `ids` and the beacons held for them, read under their locks (sessions with
 * neither are absent). `dueBy`: only those with a hold ended by then (the sweep).
 */
export async function readPlaySessions(
  tx: Transaction,
  ids: readonly string[],
  dueBy: number | null = null,
): Promise<Map<string, StoredSession>> {
  const r = await tx.query<Record<string, unknown> & { id: string; held: HeldPlayBeacon[] | null }>(
    `SELECT u.id, s.*, h.held FROM unnest($1::text[]) AS u(id)
       LEFT JOIN measure_play_sessions s ON s.session_id = u.id
       LEFT JOIN measure_play_held h ON h.session_id = u.id
      WHERE ${dueBy === null ? '(s.session_id IS NOT NULL OR h.session_id IS NOT NULL)' : 'h.held_until <= $2'}`,
    dueBy === null ? [ids] : [ids, dueBy],
  );
  const out = new Map<string, StoredSession>();
  for (const row of r.rows) {
    out.set(row.id, {
      session: row.session_id == null ? null : sessionOf(row.id, row),
      held: row.held ?? [],
    });
  }
  return out;
}

/** What a batch does with one play session. */
interface SessionWork extends StoredSession {
  /** The event its row is written with (for a new session, the start that opened it). */
  row: PlayBeaconEvent;
  /** It had held beacons when read (their row is removed once none are left). */
  hadHeld: boolean;
  /** The batch's beacons of this session, by event id. */
  batch: Map<string, { event: PlayBeaconEvent; held: HeldPlayBeacon }>;
}

/**
 * The held beacons of sessions `sessions` as they stand now: kept (one statement) and, for
 * those that had some and have none left, removed (one statement).
 */
export async function saveHeldPlays(
  tx: Transaction,
  sessions: Map<string, { held: HeldPlayBeacon[]; hadHeld: boolean }>,
): Promise<void> {
  const kept = [...sessions].filter(([, s]) => s.held.length > 0);
  const emptied = [...sessions].filter(([, s]) => s.hadHeld && s.held.length === 0).map(([id]) => id);
  if (kept.length > 0) {
    await tx.query(
      `INSERT INTO measure_play_held (session_id, held, held_until)
       SELECT id, held::jsonb, hu FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(id, held, hu)
       ON CONFLICT (session_id) DO UPDATE SET held = EXCLUDED.held, held_until = EXCLUDED.held_until`,
      [
        kept.map(([id]) => id),
        kept.map(([, s]) => JSON.stringify(s.held)),
        kept.map(([, s]) => heldUntil(s.held)),
      ],
    );
  }
  if (emptied.length > 0) {
    await tx.query('DELETE FROM measure_play_held WHERE session_id = ANY($1::text[])', [emptied]);
  }
}

/** Holds decision `id`'s lock until the transaction ends (whoever writes its state row). */
export async function lockDecision(tx: Transaction, id: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [DECISION_LOCK_CLASS, id]);
}

/** A decision's state for this batch: as stored (read under its lock), or new. */
function decisionRow(claims: DecisionClaims, row: StoredDecision | undefined): DecisionRow {
  return {
    decisionId: claims.decisionId,
    claims,
    seen: row?.seen ?? {},
    invalid: row?.invalid ?? null,
    impressionAt: row?.impression_at == null ? null : Number(row.impression_at),
    exists: row !== undefined,
    held: row?.held ?? [],
  };
}

/** Every decision the batch touched, written in one statement. */
async function saveDecisions(tx: Transaction, decisions: Map<string, DecisionRow>): Promise<void> {
  if (decisions.size === 0) return;
  const rows = [...decisions.values()];
  const col = <T>(f: (d: DecisionRow) => T) => rows.map(f);
  await tx.query(
    `INSERT INTO measure_decisions (decision_id, campaign_id, line_item_id, advertiser_id, ad_id, creator_id,
       show_id, episode_id, break_id, cpm_micros, creative_duration_ms, listener_id, seen, invalid, impression_at, issued_at,
       held, held_until)
     SELECT d, c, l, a, ad, cr, s, e, b, cpm, dur, lis, seen::jsonb, inv, imp, iss, held::jsonb, hu
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
       $9::text[], $10::bigint[], $11::bigint[], $12::text[], $13::text[], $14::text[], $15::bigint[], $16::bigint[],
       $17::text[], $18::bigint[])
       AS u(d, c, l, a, ad, cr, s, e, b, cpm, dur, lis, seen, inv, imp, iss, held, hu)
     ON CONFLICT (decision_id) DO UPDATE SET seen = EXCLUDED.seen, invalid = EXCLUDED.invalid,
       impression_at = EXCLUDED.impression_at, held = EXCLUDED.held, held_until = EXCLUDED.held_until`,
    [
      col((d) => d.claims.decisionId),
      col((d) => d.claims.campaignId),
      col((d) => d.claims.lineItemId),
      col((d) => d.claims.advertiserId),
      col((d) => d.claims.adId),
      col((d) => d.claims.creatorId),
      col((d) => d.claims.showId),
      col((d) => d.claims.episodeId),
      col((d) => d.claims.breakId),
      col((d) => d.claims.cpmMicros),
      col((d) => d.claims.creativeDurationMs),
      col((d) => d.claims.listenerId),
      col((d) => JSON.stringify(d.seen)),
      col((d) => d.invalid),
      col((d) => d.impressionAt),
      col((d) => d.claims.issuedAt),
      col((d) => (d.held.length === 0 ? null : JSON.stringify(d.held))),
      col((d) => heldUntil(d.held)),
    ],
  );
}

function sessionOf(sessionId: string, row: Record<string, unknown>): PlaySession {
  return {
    sessionId,
    episodeId: String(row.episode_id),
    startedAt: Number(row.started_at),
    lastSeq: Number(row.last_seq),
    gaps: (row.seq_gaps as PlaySession['gaps'] | null) ?? [],
    countersSeq: Number(row.counters_seq ?? row.last_seq),
    maxPositionMs: Number(row.max_position_ms),
    listenedMs: Number(row.listened_ms),
    durationMs: Number(row.duration_ms),
    completed: row.completed === true,
    bytesFromPeers: Number(row.bytes_from_peers),
    bytesFromWebSeed: Number(row.bytes_from_web_seed),
    peerMode: (row.peer_mode as string | null) ?? null,
    invalid: (row.invalid as string | null) ?? null,
  };
}

async function saveSessions(
  tx: Transaction,
  sessions: Map<string, { session: PlaySession | null; row: PlayBeaconEvent }>,
): Promise<void> {
  for (const { session: s, row } of sessions.values()) {
    if (!s) continue;
    await tx.query(
      `INSERT INTO measure_play_sessions (session_id, episode_id, audience_key, listener_id, started_at, last_seq,
         max_position_ms, listened_ms, duration_ms, completed, bytes_from_peers, bytes_from_web_seed, invalid, peer_mode,
         client_app, client_device, client_os, client_country, seq_gaps, counters_seq)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19::jsonb, $20)
       ON CONFLICT (session_id) DO UPDATE SET last_seq = EXCLUDED.last_seq, seq_gaps = EXCLUDED.seq_gaps,
         counters_seq = EXCLUDED.counters_seq, max_position_ms = EXCLUDED.max_position_ms,
         listened_ms = EXCLUDED.listened_ms, completed = EXCLUDED.completed, bytes_from_peers = EXCLUDED.bytes_from_peers,
         bytes_from_web_seed = EXCLUDED.bytes_from_web_seed, invalid = EXCLUDED.invalid, peer_mode = EXCLUDED.peer_mode`,
      [
        s.sessionId,
        s.episodeId,
        row.audienceKey,
        row.beacon.listenerId,
        s.startedAt,
        s.lastSeq,
        s.maxPositionMs,
        s.listenedMs,
        s.durationMs,
        s.completed,
        s.bytesFromPeers,
        s.bytesFromWebSeed,
        s.invalid,
        s.peerMode,
        // The classes of the session's first beacon (kept on update): for plays by app, device, OS.
        row.client.app,
        row.client.device,
        row.client.os,
        row.country ?? null,
        s.gaps.length === 0 ? null : JSON.stringify(s.gaps),
        s.countersSeq,
      ],
    );
  }
}

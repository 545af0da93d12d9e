/**
 * Late beacons, the way stream processors treat late events (allowed lateness): several
 * pipeline consumers share the stream, so a beacon can be judged before the batch holding
 * its predecessor commits on another consumer (an ad quartile before its decision's
 * `start`, a play `progress` or `complete` before its session's `start`). A beacon that is
 * out of order only because its predecessor has not been judged yet (the judgement names it
 * in `awaiting`) is not judged then: the pipeline keeps it with its key's state (a decision,
 * a play session) and judges it again whenever that key is next judged (the predecessor's
 * batch), or once `until` has passed, when it is judged as it stands (out of order for good).
 * The hold runs from when the pipeline first judged the beacon, not from its `receivedAt`:
 * under a backlog every beacon is old when it is read, yet its predecessor is still a batch
 * or two away on another consumer. The ad and play rules wrap `releaseHeld` (ad-hold.ts,
 * play-sequence.ts); the pipeline stores and sweeps both (pipeline/held-beacons.ts).
 */
export interface Held {
  /** The event's id (its row in `measure_events`). */
  id: string;
  /** The collector's receive time: the order held beacons are judged in. */
  receivedAt: number;
  /** Processing time (ms) after which it is judged as it stands. */
  until: number;
}

/**
 * Default hold: longer than a JetStream consumer's ack wait (30 s), after which the batch of
 * a consumer that died holding the predecessor is redelivered to another one. Only beacons
 * whose predecessor is missing wait; an honest one is judged when its predecessor commits.
 */
export const defaultHoldMs = 60_000;

/**
 * At most this many beacons are held per key (its row carries them): beyond, a beacon
 * awaiting its predecessor is judged out of order at once. An honest player sends a handful
 * before its start could be late (quartiles, complete, progress, a click); a client sending
 * thousands under one token or session cannot grow the row or the batches that rewrite it.
 */
export const maxHeldPerKey = 32;

export interface Release<S, B extends Held, J> {
  /** The key's state after the beacons judged now. */
  state: S;
  /** Beacons judged now, in receive order, with their judgements. */
  judged: { beacon: B; judgement: J }[];
  /** Beacons still waiting for their predecessor within their hold. */
  held: B[];
}

/** Receive order, ties by id. */
export const byReceived = (a: Held, b: Held): number =>
  a.receivedAt - b.receivedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Judges beacons of one key against its state in `order` (receive order by default; the sort
 * is stable): a beacon still awaiting its predecessor stays held while `now < until` and
 * fewer than `max` are kept; after that, or once the predecessor is in the state, it is
 * judged and `next` gives the state after it. `beacons` may mix held ones with a batch's new
 * ones (given `until = now + hold`; a hold of 0 judges them at once).
 */
export function releaseHeld<S, B extends Held, J extends { awaiting: string | null }>(
  prior: S,
  beacons: readonly B[],
  now: number,
  judge: (state: S, beacon: B) => J,
  next: (judgement: J, state: S) => S,
  o: { order?: (a: B, b: B) => number; max?: number } = {},
): Release<S, B, J> {
  let state = prior;
  const judged: Release<S, B, J>['judged'] = [];
  const kept: B[] = [];
  const max = o.max ?? maxHeldPerKey;
  for (const beacon of [...beacons].sort(o.order ?? byReceived)) {
    const judgement = judge(state, beacon);
    if (judgement.awaiting !== null && now < beacon.until && kept.length < max) {
      kept.push(beacon);
      continue;
    }
    state = next(judgement, state);
    judged.push({ beacon, judgement });
  }
  return { state, judged, held: kept };
}

/** The earliest `until` of a key's held beacons (when a sweep must judge it), or null. */
export function heldUntil(held: readonly Held[]): number | null {
  return held.length === 0 ? null : Math.min(...held.map((b) => b.until));
}

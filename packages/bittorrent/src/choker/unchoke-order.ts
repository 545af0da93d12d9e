/** What the choker reads about one connected peer. */
export interface ChokerPeer {
  /** Stable id of the connection (any string the caller uses to find the peer again). */
  readonly id: string;
  /** The peer is interested in us (only interested peers get upload slots). */
  readonly interested: boolean;
  /** Bytes/s we receive from this peer (leeching: tit-for-tat). */
  readonly downloadRate: number;
  /** Bytes/s we send to this peer (seeding: favour peers that take data fastest). */
  readonly uploadRate: number;
  /** When the connection was established (same clock as `now`). */
  readonly connectedAt: number;
  /** When the peer last got the optimistic slot; undefined if never. */
  readonly lastOptimisticAt?: number;
}

/** Choker settings; defaults follow BEP 3 practice and libtorrent. */
export interface ChokerSettings {
  /** True when we have everything: rank by upload rate instead of download rate. */
  readonly seeding: boolean;
  /** Regular upload slots (default 4). */
  readonly slots?: number;
  /** Optimistic slots (default 1). */
  readonly optimisticSlots?: number;
  /** How long the optimistic unchoke lasts before it rotates (default 30 s). */
  readonly optimisticIntervalMs?: number;
  /**
   * Breaks ties between equal rates (every rate is 0 when a swarm starts). Without it ties go
   * by id, and every node of a swarm would favour the same few peers.
   */
  readonly random?: () => number;
}

/** The choker's memory between rounds: who holds the optimistic slot(s) and since when. */
export interface ChokerState {
  readonly optimistic: readonly string[];
  readonly optimisticSince: number;
}

export const INITIAL_CHOKER_STATE: ChokerState = {
  optimistic: [],
  optimisticSince: Number.NEGATIVE_INFINITY,
};

/** The decision of one round. */
export interface UnchokeDecision {
  /** Peers to unchoke (regular slots first, then optimistic); every other peer is choked. */
  readonly unchoke: readonly string[];
  /** The subset of `unchoke` that holds optimistic slots (record `lastOptimisticAt` for them). */
  readonly optimistic: readonly string[];
  /** Pass back in at the next round. */
  readonly state: ChokerState;
}

/**
 * One choking round (run it every 10 s and when peers come or go). Rules:
 * 1. only interested peers get slots;
 * 2. regular slots go to the fastest peers: by download rate from them while leeching
 *    (tit-for-tat), by upload rate to them while seeding; ties at random when `settings.random` is given (all rates are 0 when a swarm starts), else by id;
 * 3. one optimistic slot goes to an interested peer outside the regular set, and is kept for
 *    `optimisticIntervalMs` while its holder stays interested and outside the regular set;
 * 4. when it rotates, peers never optimistically unchoked come first (new peers get a chance
 *    to show what they can give), earliest connected first; then the one that waited longest.
 */
export function unchokeOrder(
  peers: readonly ChokerPeer[],
  now: number,
  settings: ChokerSettings,
  state: ChokerState = INITIAL_CHOKER_STATE,
): UnchokeDecision {
  const slots = settings.slots ?? 4;
  const optimisticSlots = settings.optimisticSlots ?? 1;
  const interval = settings.optimisticIntervalMs ?? 30_000;
  const interested = peers.filter((p) => p.interested);
  const rate = settings.seeding ? (p: ChokerPeer) => p.uploadRate : (p: ChokerPeer) => p.downloadRate;

  const salt = new Map<string, number>();
  if (settings.random) for (const p of interested) salt.set(p.id, settings.random());
  const ranked = [...interested].sort(
    (a, b) =>
      rate(b) - rate(a) ||
      (salt.get(a.id) ?? 0) - (salt.get(b.id) ?? 0) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  const regular = ranked.slice(0, slots).map((p) => p.id);
  const regularSet = new Set(regular);
  const rest = interested.filter((p) => !regularSet.has(p.id));

  const rotate = now - state.optimisticSince >= interval;
  let optimistic: string[] = [];
  if (!rotate) {
    const restIds = new Set(rest.map((p) => p.id));
    optimistic = state.optimistic.filter((id) => restIds.has(id)).slice(0, optimisticSlots);
  }
  let since = rotate ? now : state.optimisticSince;
  if (optimistic.length < optimisticSlots) {
    const held = new Set(optimistic);
    const candidates = rest
      .filter((p) => !held.has(p.id))
      .sort((a, b) => {
        const la = a.lastOptimisticAt ?? Number.NEGATIVE_INFINITY;
        const lb = b.lastOptimisticAt ?? Number.NEGATIVE_INFINITY;
        return la - lb || a.connectedAt - b.connectedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
      });
    for (const p of candidates) {
      if (optimistic.length >= optimisticSlots) break;
      optimistic.push(p.id);
    }
    if (!rotate && optimistic.length > 0 && state.optimistic.length === 0) since = now;
  }
  return { unchoke: [...regular, ...optimistic], optimistic, state: { optimistic, optimisticSince: since } };
}

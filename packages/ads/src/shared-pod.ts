/**
 * One pod decided against the caps and delivery every process shares (shared-delivery.ts),
 * for a VAST answer (decide.ts) and for each break of a DAI plan (stitch/decide-plan.ts)
 * alike: read the candidates' shared counters, choose with the policy (select-pod.ts), claim
 * the pod in one atomic script. An ad whose cap, plan or budget another process used up
 * meanwhile loses its claim and leaves the pod; the pod is then topped up once, on fresh
 * counters, from the next eligible line items (keeping the ads it won), so a burst at one
 * line item's limit falls through to the next line item instead of serving short or empty
 * breaks. Two round trips when nothing is lost, four when something is.
 */
import type { PaceSettings } from './pacing.ts';
import { type PodRequest, type PodSlot, selectPod } from './select-pod.ts';
import type { SharedDelivery } from './shared-delivery.ts';
import type { AdsStore } from './store.ts';

export interface SharedPodAsk {
  podRequest: PodRequest;
  /** The decisions' token expiry: their reservations last as long. */
  expiresAt: number;
  /** A new decision id for each ad claimed. */
  nextId: () => string;
  /** May this slot be served (DAI: is its creative prepared)? Others are left out, not claimed. */
  usable?: (slot: PodSlot) => boolean;
  pace?: PaceSettings;
}

export interface SharedPod {
  /** The ads won, in sequence 1..n. */
  slots: PodSlot[];
  /** Each slot's decision id (the id it was claimed under). */
  decisionIds: string[];
  /** Slots `usable` refused. */
  leftOut: PodSlot[];
}

/** Chooses and claims a pod (see the file's header); the store is not charged here (the caller records). */
export async function claimSharedPod(
  store: AdsStore,
  shared: SharedDelivery,
  ask: SharedPodAsk,
): Promise<SharedPod> {
  const req = ask.podRequest;
  const out: SharedPod = { slots: [], decisionIds: [], leftOut: [] };
  const without = new Set<string>();
  for (let round = 1; round <= 2; round++) {
    await shared.load(store, store.eligibleFor(req), req.listenerId, req.now);
    const pod = selectPod(store, req, ask.pace, round === 1 ? undefined : { kept: out.slots, without });
    const fresh = pod.slice(out.slots.length).filter((slot) => {
      if (!ask.usable || ask.usable(slot)) return true;
      out.leftOut.push(slot);
      without.add(slot.candidate.lineItem.id);
      return false;
    });
    if (fresh.length === 0) break;
    const ids = fresh.map(() => ask.nextId());
    const taken = await shared.claim(fresh, {
      listenerId: req.listenerId,
      now: req.now,
      expiresAt: ask.expiresAt,
      decisionIds: ids,
      siblings: (c) => store.candidates().filter((x) => x.campaign.id === c.campaign.id),
      ...(ask.pace ? { pace: ask.pace } : {}),
    });
    let lost = false;
    for (const [i, slot] of fresh.entries()) {
      if (taken[i]) {
        out.slots.push({ ...slot, sequence: out.slots.length + 1 });
        out.decisionIds.push(ids[i]!);
      } else {
        without.add(slot.candidate.lineItem.id);
        lost = true;
      }
    }
    // Once: the second choice read the counters after the loss.
    if (!lost) break;
  }
  return out;
}

import { type ChokerState, INITIAL_CHOKER_STATE, unchokeOrder } from '../choker/unchoke-order.ts';
import type { Clock, Random, Timers } from '../timers.ts';
import type { SwarmPeer } from './swarm-peer.ts';
import type { Uploader } from './uploader.ts';

export interface RechokeDeps {
  readonly peers: ReadonlyMap<string, SwarmPeer>;
  readonly uploader: Uploader;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly random: Random;
  /** Upload slots (default 4). */
  readonly slots: number;
  /** We have every wanted piece (the choker then favours peers we upload to fastest). */
  seeding(): boolean;
  closed(): boolean;
}

/**
 * When the choker runs and what its decision does: the pure `unchokeOrder` over the peers'
 * rates (read from their links), applied as choke/unchoke on the links and to the uploader's
 * queues. It runs every rechoke round (the session's tick) and soon after a change that
 * should not wait for the round: a newcomer's interest, or a slot freed.
 */
export class RechokeSchedule {
  private state: ChokerState = INITIAL_CHOKER_STATE;
  private pending = false;

  constructor(private readonly deps: RechokeDeps) {}

  /** Rechokes at the end of this turn (once, however many changes ask for it). */
  soon(): void {
    if (this.pending) return;
    this.pending = true;
    this.deps.timers.setTimeout(() => {
      this.pending = false;
      if (!this.deps.closed()) this.run(this.deps.clock.now());
    }, 0);
  }

  run(now: number): void {
    const { peers, uploader } = this.deps;
    const list = [...peers.values()].filter((p) => p.info);
    const decision = unchokeOrder(
      list.map((p) => ({
        id: p.key,
        interested: p.link.peerInterested,
        downloadRate: p.link.downloadRate(),
        uploadRate: p.link.uploadRate(),
        connectedAt: p.connectedAt,
        ...(Number.isFinite(p.optimisticAt) ? { lastOptimisticAt: p.optimisticAt } : {}),
      })),
      now,
      { seeding: this.deps.seeding(), slots: this.deps.slots, random: this.deps.random },
      this.state,
    );
    this.state = decision.state;
    const unchoke = new Set(decision.unchoke);
    for (const id of decision.optimistic) {
      const p = peers.get(id);
      if (p) p.optimisticAt = now;
    }
    for (const p of list) {
      const choke = !unchoke.has(p.key);
      if (choke === p.link.amChoking) continue;
      p.link.choke(choke);
      if (choke) uploader.choked(p);
      else uploader.pump(p);
    }
  }
}

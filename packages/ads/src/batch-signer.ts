/**
 * Signs the pods decided in one event-loop turn with one Ed25519 signature (v3 tokens,
 * decision-token.ts `signPods`). An Ed25519 signature cost about as much CPU as the rest of
 * a decision's policy (profile of `/ads/vast` with 1,000 line items); under load many
 * requests are read in one turn, so they share it. A request alone in its turn gets a v2
 * token as before, one turn later (`defer`, setImmediate by default: it runs after the poll
 * phase that read this turn's requests).
 *
 * Invariants:
 * - every pod handed to `sign` is answered exactly once, with its own tokens or an error;
 * - a pod that cannot be signed (a programmer error: empty, out of order) is refused at
 *   once and never joins a batch, so it cannot fail the other requests of its turn;
 * - pods of different keys (a rotation within the turn) are signed by their own key; a key
 *   that fails to sign fails only the pods given that key.
 */

import type { PodSigner } from './decide.ts';
import { maxPodsPerSignature, podProblem, type SigningKey, signPods } from './decision-token.ts';
import type { DecisionClaims } from './tracking-contract.ts';

interface Waiting {
  ads: Omit<DecisionClaims, 'keyId' | 'v'>[];
  key: SigningKey;
  resolve: (tokens: string[]) => void;
  reject: (err: unknown) => void;
}

export class BatchSigner {
  private waiting: Waiting[] = [];
  private scheduled = false;
  /** Signatures made and pods signed, for tests and benchmarks. */
  readonly stats = { signatures: 0, pods: 0 };

  constructor(private readonly defer: (run: () => void) => void = setImmediate) {}

  /** The `PodSigner` to pass to `decideBreakBatched`. */
  readonly sign: PodSigner = (ads, key) => {
    const problem = podProblem(ads);
    if (problem) return Promise.reject(new Error(problem));
    return new Promise<string[]>((resolve, reject) => {
      this.waiting.push({ ads, key, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        this.defer(() => this.flush());
      }
    });
  };

  /** Signs everything waiting now (the deferred turn calls it; tests may too). */
  flush(): void {
    const batch = this.waiting;
    this.waiting = [];
    this.scheduled = false;
    const byKey = new Map<SigningKey, Waiting[]>();
    for (const w of batch) {
      const list = byKey.get(w.key);
      if (list) list.push(w);
      else byKey.set(w.key, [w]);
    }
    for (const [key, group] of byKey) {
      let tokens: string[][];
      try {
        tokens = signPods(
          group.map((w) => w.ads),
          key,
        );
      } catch (err) {
        for (const w of group) w.reject(err);
        continue;
      }
      this.stats.pods += group.length;
      this.stats.signatures += Math.ceil(group.length / maxPodsPerSignature);
      group.forEach((w, i) => {
        w.resolve(tokens[i]!);
      });
    }
  }
}

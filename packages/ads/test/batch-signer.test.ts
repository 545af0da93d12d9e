import { describe, expect, it } from 'vitest';
import {
  BatchSigner,
  type DecisionClaims,
  generateSigningKey,
  keyRing,
  publicKeysOf,
  verifyDecisionToken,
} from '../src/index.ts';

const base: Omit<DecisionClaims, 'keyId' | 'v'> = {
  decisionId: 'd',
  adId: 'cr-1',
  lineItemId: 'li-1',
  campaignId: 'c-1',
  advertiserId: 'a-1',
  episodeId: 'ep-1',
  showId: 'show-1',
  creatorId: 'creator-1',
  breakId: 'pre',
  position: 'pre',
  podSequence: 1,
  creativeDurationMs: 15_000,
  cpmMicros: 20_000_000,
  listenerId: 'l-1',
  issuedAt: 1_000,
  expiresAt: 2_000,
};
const pod = (id: string, ads = 1) =>
  Array.from({ length: ads }, (_, i) => ({ ...base, decisionId: `${id}-${i + 1}`, podSequence: i + 1 }));
const key = generateSigningKey('k1');
const keys = publicKeysOf(keyRing(key));

/** A signer whose turn ends when the test says so. */
function manualSigner() {
  const turns: Array<() => void> = [];
  const signer = new BatchSigner((run) => {
    turns.push(run);
  });
  const endTurn = () => {
    for (const run of turns.splice(0)) run();
  };
  return { signer, endTurn, turns };
}

describe('BatchSigner', () => {
  it('answers every pod of a turn exactly once, with its own tokens, under one signature', async () => {
    const { signer, endTurn, turns } = manualSigner();
    const answers = new Map<string, number>();
    const pending = Array.from({ length: 40 }, (_, i) =>
      signer.sign(pod(`p${i}`, 1 + (i % 3)), key).then((tokens) => {
        answers.set(`p${i}`, (answers.get(`p${i}`) ?? 0) + 1);
        return tokens;
      }),
    );
    expect(turns).toHaveLength(1); // one deferred flush for the whole turn
    endTurn();
    const all = await Promise.all(pending);
    expect([...answers.values()]).toEqual(Array(40).fill(1));
    all.forEach((tokens, i) => {
      expect(tokens).toHaveLength(1 + (i % 3));
      tokens.forEach((t, s) => {
        const v = verifyDecisionToken(t, keys, 1_500);
        expect(v.ok && [v.claims.decisionId, v.claims.v]).toEqual([`p${i}-${s + 1}`, 3]);
      });
    });
    // 40 pods, at most 16 per signature.
    expect(signer.stats).toEqual({ signatures: 3, pods: 40 });
    expect(new Set(all.map((t) => t[0]!.split('.')[1])).size).toBe(3);
  });

  it('signs a pod alone in its turn as v2, and the next turn separately', async () => {
    const { signer, endTurn } = manualSigner();
    const first = signer.sign(pod('a'), key);
    endTurn();
    const second = signer.sign(pod('b'), key);
    endTurn();
    const [[ta], [tb]] = (await Promise.all([first, second])) as [[string], [string]];
    expect(ta.split('.')).toHaveLength(3);
    expect(ta.split('.')[1]).not.toBe(tb.split('.')[1]);
    expect(signer.stats).toEqual({ signatures: 2, pods: 2 });
  });

  it('refuses a bad pod at once and still answers the rest of its turn', async () => {
    const { signer, endTurn } = manualSigner();
    const good1 = signer.sign(pod('g1', 2), key);
    const bad = signer.sign([{ ...base, podSequence: 2 }], key);
    const good2 = signer.sign(pod('g2'), key);
    await expect(bad).rejects.toThrow(/podSequence/);
    endTurn();
    for (const t of [...(await good1), ...(await good2)])
      expect(verifyDecisionToken(t, keys, 1_500).ok).toBe(true);
    expect(signer.stats.pods).toBe(2);
  });

  it('a key that cannot sign fails only its own pods; pods of another key in the turn are signed', async () => {
    const { signer, endTurn } = manualSigner();
    // A public key in place of the private one: node's sign() throws for it.
    const broken = { ...generateSigningKey('k9'), privateKey: key.publicKey };
    const ok = [signer.sign(pod('x1'), key), signer.sign(pod('x2'), key)];
    const failing = [signer.sign(pod('y1'), broken), signer.sign(pod('y2'), broken)];
    endTurn();
    for (const f of failing) await expect(f).rejects.toThrow();
    for (const t of (await Promise.all(ok)).flat()) expect(verifyDecisionToken(t, keys, 1_500).ok).toBe(true);
    expect(signer.stats).toEqual({ signatures: 1, pods: 2 });
  });

  it('with the default turn (setImmediate), requests made together share a signature', async () => {
    const signer = new BatchSigner();
    const tokens = await Promise.all([signer.sign(pod('s1'), key), signer.sign(pod('s2'), key)]);
    expect(tokens[0]![0]!.split('.')[1]).toBe(tokens[1]![0]!.split('.')[1]);
    expect(signer.stats).toEqual({ signatures: 1, pods: 2 });
  });
});

import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type DecisionClaims,
  exportSigningKey,
  generateSigningKey,
  publicKeysOf,
  signDecision,
  verifyDecisionToken,
} from '@swarmcast/ads';
import { scratchDir } from '@swarmcast/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readSigningKeys, rotateSigningKey, signingKeyFile, watchKeyRing } from '../src/key-ring.ts';
import { loadKeyRing } from '../src/secrets.ts';

/**
 * Rotating the decision-signing key while N processes run (issue 19): every token any
 * process signs, before, during or after the switch, verifies on every process.
 */
const claims = (issuedAt: number): Omit<DecisionClaims, 'keyId'> => ({
  v: 1,
  decisionId: `d-${issuedAt}`,
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
  listenerId: 'l-123',
  issuedAt,
  expiresAt: issuedAt + 6 * 3_600_000,
});

describe('signing keys rotated while processes run', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  const t0 = Date.parse('2026-12-07T12:00:00Z');
  beforeEach(async () => {
    dir = await scratchDir('key-ring-');
    await loadKeyRing(dir.path, t0);
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('two processes: the new key verifies everywhere before anyone signs with it, and the old one after', async () => {
    // Two processes, each with its own clock; B's runs 5 s behind A's.
    let now = t0;
    const a = await watchKeyRing(dir.path, { now: () => now, reloadMs: 60_000 });
    const b = await watchKeyRing(dir.path, { now: () => now - 5000, reloadMs: 60_000 });
    const oldId = a.ring().active.keyId;
    const before = signDecision(claims(now), b.ring().active);

    const r = await rotateSigningKey(dir.path, now, { activateInMs: 120_000 });
    // Each process re-reads the file (its timer does this every reloadMs).
    await a.reload();
    await b.reload();
    expect(a.ring().active.keyId).toBe(oldId);
    expect(a.ring().upcoming?.map((u) => u.keyId)).toEqual([r.added.key.keyId]);

    // A has switched, B (5 s behind) not yet: each verifies what the other signs.
    now = r.added.activeFrom + 1000;
    expect(a.ring().active.keyId).toBe(r.added.key.keyId);
    expect(b.ring().active.keyId).toBe(oldId);
    const fromA = signDecision(claims(now), a.ring().active);
    const fromB = signDecision(claims(now), b.ring().active);
    for (const token of [before, fromA, fromB])
      for (const p of [a, b]) expect(verifyDecisionToken(token, publicKeysOf(p.ring()), now).ok).toBe(true);
    // Both switched; tokens of the old key (6 h lifetime) still verify.
    now += 10_000;
    expect(b.ring().active.keyId).toBe(r.added.key.keyId);
    expect(b.ring().retired.map((k) => k.keyId)).toEqual([oldId]);
    expect(verifyDecisionToken(fromB, publicKeysOf(b.ring()), now).ok).toBe(true);
    a.close();
    b.close();
  });

  it('rotations at once are serialised: every key kept, one file; old keys dropped once retired long enough', async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => rotateSigningKey(dir.path, t0 + i, { activateInMs: 60_000 })),
    );
    const ids = (await readSigningKeys(dir.path)).map((e) => e.key.keyId);
    expect(ids).toHaveLength(6);
    expect(new Set(ids).size).toBe(6);
    for (const r of results) expect(ids).toContain(r.added.key.keyId);
    expect((await stat(join(dir.path, signingKeyFile))).mode & 0o777).toBe(0o600);
    // A day later: every key but the newest retired more than 24 h ago is dropped.
    const later = await rotateSigningKey(dir.path, t0 + 26 * 3_600_000);
    expect(later.dropped).toHaveLength(5);
    expect(later.entries.map((e) => e.key.keyId)).toEqual([ids.at(-1), later.added.key.keyId]);
  });

  it('a process keeps its last good ring when the file is unreadable, and reports it', async () => {
    const errors: unknown[] = [];
    const p = await watchKeyRing(dir.path, { now: () => t0, onError: (e) => errors.push(e) });
    const id = p.ring().active.keyId;
    await writeFile(join(dir.path, signingKeyFile), '{"keys": [');
    await p.reload();
    expect(p.ring().active.keyId).toBe(id);
    expect(errors).toHaveLength(1);
    p.close();
  });

  it('reads the one-key file of earlier versions', async () => {
    const old = generateSigningKey('node-legacy');
    await writeFile(join(dir.path, signingKeyFile), JSON.stringify(exportSigningKey(old)));
    const ring = await loadKeyRing(dir.path, t0);
    expect(ring.active.keyId).toBe('node-legacy');
    const r = await rotateSigningKey(dir.path, t0);
    expect(r.entries.map((e) => e.key.keyId)).toEqual(['node-legacy', r.added.key.keyId]);
  });
});

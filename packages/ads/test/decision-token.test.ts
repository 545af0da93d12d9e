import { describe, expect, it } from 'vitest';
import {
  type DecisionClaims,
  dropRetiredBefore,
  exportPublicKey,
  exportSigningKey,
  generateSigningKey,
  importPublicKeys,
  importSigningKey,
  keyRing,
  publicKeysOf,
  rotateKey,
  signDecision,
  signPod,
  signPods,
  verifyDecisionToken,
} from '../src/index.ts';

const claims: Omit<DecisionClaims, 'keyId'> = {
  v: 1,
  decisionId: 'd-1',
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
  issuedAt: 1_000,
  expiresAt: 2_000,
};

const key = generateSigningKey('k1');
const other = generateSigningKey('k2');
const keys = publicKeysOf(keyRing(key));

function reencode(token: string, edit: (c: Record<string, unknown>) => void): string {
  const [body, sig] = token.split('.') as [string, string];
  const c = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  edit(c);
  return `${Buffer.from(JSON.stringify(c)).toString('base64url')}.${sig}`;
}

describe('decision tokens', () => {
  const good = signDecision(claims, key);

  it('round-trips the claims and stamps the signing keyId', () => {
    const r = verifyDecisionToken(good, keys, 1_500);
    expect(r).toEqual({ ok: true, claims: { ...claims, keyId: 'k1' } });
  });

  it('replaces a keyId in the claims with the signing key', () => {
    const t = signDecision({ ...claims, keyId: 'k2' } as DecisionClaims, key);
    const r = verifyDecisionToken(t, keys, 1_500);
    expect(r.ok && r.claims.keyId).toBe('k1');
  });

  const [body, sig] = good.split('.') as [string, string];
  const flipped = `${sig.slice(0, 10)}${sig[10] === 'A' ? 'B' : 'A'}${sig.slice(11)}`;
  // The last of 86 characters carries 2 spare bits: another spelling of the same bytes.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = sig[sig.length - 1] as string;
  const sibling = alphabet[alphabet.indexOf(last) ^ 1] as string;
  const nonCanonical = `${body}.${sig.slice(0, -1)}${sibling}`;

  const cases: Array<[string, string, number, string | null]> = [
    ['valid', good, 1_999, null],
    ['expired at the instant', good, 2_000, 'ADS_TOKEN_EXPIRED'],
    ['expired later', good, 9_999_999, 'ADS_TOKEN_EXPIRED'],
    ['edited cpm', reencode(good, (c) => (c.cpmMicros = 1)), 1_500, 'ADS_TOKEN_FORGED'],
    ['edited expiry', reencode(good, (c) => (c.expiresAt = 9e12)), 1_500, 'ADS_TOKEN_FORGED'],
    ['signature flipped', `${body}.${flipped}`, 1_500, 'ADS_TOKEN_FORGED'],
    ['non-canonical signature', nonCanonical, 1_500, 'ADS_TOKEN_MALFORMED'],
    [
      'signed by another key claiming k1',
      signDecision(claims, { ...other, keyId: 'k1' }),
      1_500,
      'ADS_TOKEN_FORGED',
    ],
    ['unknown key', signDecision(claims, other), 1_500, 'ADS_TOKEN_UNKNOWN_KEY'],
    ['empty', '', 1_500, 'ADS_TOKEN_MALFORMED'],
    ['one part', body, 1_500, 'ADS_TOKEN_MALFORMED'],
    ['three parts', `${good}.x`, 1_500, 'ADS_TOKEN_MALFORMED'],
    ['padding', `${body}.${sig}==`, 1_500, 'ADS_TOKEN_MALFORMED'],
    ['not json', `${Buffer.from('{nope').toString('base64url')}.${sig}`, 1_500, 'ADS_TOKEN_MALFORMED'],
    ['json array', `${Buffer.from('[1]').toString('base64url')}.${sig}`, 1_500, 'ADS_TOKEN_MALFORMED'],
    ['wrong version', reencode(good, (c) => (c.v = 2)), 1_500, 'ADS_TOKEN_MALFORMED'],
    ['missing field', reencode(good, (c) => delete c.decisionId), 1_500, 'ADS_TOKEN_MALFORMED'],
    ['bad position', reencode(good, (c) => (c.position = 'side')), 1_500, 'ADS_TOKEN_MALFORMED'],
    ['fractional cpm', reencode(good, (c) => (c.cpmMicros = 1.5)), 1_500, 'ADS_TOKEN_MALFORMED'],
    ['listener number', reencode(good, (c) => (c.listenerId = 7)), 1_500, 'ADS_TOKEN_MALFORMED'],
    ['huge', `${'A'.repeat(5000)}.${sig}`, 1_500, 'ADS_TOKEN_MALFORMED'],
  ];
  it.each(cases)('%s', (_name, token, now, code) => {
    const r = verifyDecisionToken(token, keys, now);
    if (code === null) expect(r.ok).toBe(true);
    else expect(r.ok ? 'ok' : r.error.code).toBe(code);
  });

  it('accepts a null listener id (withheld)', () => {
    const t = signDecision({ ...claims, listenerId: null }, key);
    expect(verifyDecisionToken(t, keys, 1_500).ok).toBe(true);
  });

  it('rejects every single-character edit of a token (seeded sweep)', () => {
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/';
    for (let i = 0; i < 300; i++) {
      const pos = Math.floor(rand() * good.length);
      const ch = alpha[Math.floor(rand() * alpha.length)] as string;
      if (good[pos] === ch) continue;
      const t = good.slice(0, pos) + ch + good.slice(pos + 1);
      const r = verifyDecisionToken(t, keys, 1_500);
      expect(r.ok, `seed 12345 iteration ${i}: edit at ${pos} to ${ch} verified`).toBe(false);
    }
  });
});

describe('key rotation', () => {
  it('keeps verifying tokens of a retired key until dropped', () => {
    const k1 = generateSigningKey('k1');
    const k2 = generateSigningKey('k2');
    const t1 = signDecision(claims, k1);
    let ring = keyRing(k1);
    ring = rotateKey(ring, k2, 5_000);
    const t2 = signDecision(claims, ring.active);
    expect(verifyDecisionToken(t1, publicKeysOf(ring), 1_500).ok).toBe(true);
    expect(verifyDecisionToken(t2, publicKeysOf(ring), 1_500).ok).toBe(true);
    const dropped = dropRetiredBefore(ring, 6_000);
    const r = verifyDecisionToken(t1, publicKeysOf(dropped), 1_500);
    expect(r.ok ? 'ok' : r.error.code).toBe('ADS_TOKEN_UNKNOWN_KEY');
    expect(() => rotateKey(ring, generateSigningKey('k1'), 7_000)).toThrow();
  });

  it('persists keys as JWK and verifies with imported public keys', () => {
    const k = generateSigningKey('k-jwk');
    const restored = importSigningKey(JSON.parse(JSON.stringify(exportSigningKey(k))));
    const t = signDecision(claims, restored);
    const pubs = importPublicKeys([exportPublicKey(k.keyId, k.publicKey)]);
    expect(verifyDecisionToken(t, pubs, 1_500).ok).toBe(true);
    expect(exportPublicKey(k.keyId, k.publicKey)).not.toHaveProperty('d');
  });

  it('refuses keyIds that cannot travel in a token', () => {
    expect(() => generateSigningKey('')).toThrow();
    expect(() => generateSigningKey('a b')).toThrow();
  });
});

describe('pod tokens (v2: one signature per break answer)', () => {
  const ad = (podSequence: number, over: Partial<DecisionClaims> = {}) => {
    const {
      v: _v,
      keyId: _k,
      ...rest
    } = { ...claims, keyId: 'x', decisionId: `p-1-${podSequence}`, podSequence, ...over };
    return rest;
  };
  const pod = [
    ad(1),
    ad(2, {
      adId: 'cr-2',
      lineItemId: 'li-2',
      campaignId: 'c-2',
      cpmMicros: 5_000_000,
      creativeDurationMs: 30_000,
    }),
  ];
  const [t1, t2] = signPod(pod, key) as [string, string];

  it('gives each ad a token of its own claims, signed once for the pod', () => {
    expect(verifyDecisionToken(t2, keys, 1_500)).toEqual({
      ok: true,
      claims: { ...claims, ...pod[1], v: 2, keyId: 'k1' },
    });
    const first = verifyDecisionToken(t1, keys, 1_500);
    expect(first.ok && [first.claims.decisionId, first.claims.adId, first.claims.podSequence]).toEqual([
      'p-1-1',
      'cr-1',
      1,
    ]);
    // One signature and one hash list shared by the pod's tokens.
    expect(t1.split('.').slice(1)).toEqual(t2.split('.').slice(1));
    expect(t1.split('.')[2]).toHaveLength(Math.ceil((2 * 16 * 4) / 3));
  });

  it('refuses pods out of order or empty', () => {
    expect(() => signPod([pod[1]!, pod[0]!], key)).toThrow();
    expect(() => signPod([], key)).toThrow();
  });

  const [b1, s1, h1] = t1.split('.') as [string, string, string];
  const [b2] = t2.split('.') as [string, string, string];
  const editBody = (body: string, edit: (a: unknown[]) => void) => {
    const arr = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown[];
    edit(arr);
    return Buffer.from(JSON.stringify(arr)).toString('base64url');
  };
  const hashes = Buffer.from(h1, 'base64url');
  const swapped = Buffer.concat([hashes.subarray(16), hashes.subarray(0, 16)]).toString('base64url');
  const [otherBody, otherSig, otherHashes] = signPod([ad(1, { decisionId: 'p-2-1' })], key)[0]!.split(
    '.',
  ) as [string, string, string];
  const cases: Array<[string, string, number, string | null]> = [
    ['valid', t2, 1_999, null],
    ['expired', t1, 2_000, 'ADS_TOKEN_EXPIRED'],
    ['edited price', `${editBody(b1, (a) => (a[13] = 1))}.${s1}.${h1}`, 1_500, 'ADS_TOKEN_FORGED'],
    [
      'edited listener',
      `${editBody(b1, (a) => (a[14] = 'someone-else'))}.${s1}.${h1}`,
      1_500,
      'ADS_TOKEN_FORGED',
    ],
    [
      'sequence moved to its sibling',
      `${editBody(b1, (a) => (a[11] = 2))}.${s1}.${h1}`,
      1_500,
      'ADS_TOKEN_FORGED',
    ],
    [
      'sequence past the pod',
      `${editBody(b1, (a) => (a[11] = 3))}.${s1}.${h1}`,
      1_500,
      'ADS_TOKEN_MALFORMED',
    ],
    ['hashes swapped', `${b1}.${s1}.${swapped}`, 1_500, 'ADS_TOKEN_FORGED'],
    [
      'hash list cut to its own',
      `${b1}.${s1}.${hashes.subarray(0, 16).toString('base64url')}`,
      1_500,
      'ADS_TOKEN_FORGED',
    ],
    ['another pod signature', `${b1}.${otherSig}.${h1}`, 1_500, 'ADS_TOKEN_FORGED'],
    ['body of another pod', `${otherBody}.${s1}.${h1}`, 1_500, 'ADS_TOKEN_FORGED'],
    ['sibling body with own hashes', `${b2}.${otherSig}.${otherHashes}`, 1_500, 'ADS_TOKEN_MALFORMED'],
    ['hashes not 16-byte blocks', `${b1}.${s1}.${h1.slice(0, 30)}`, 1_500, 'ADS_TOKEN_MALFORMED'],
    ['empty hashes', `${b1}.${s1}.`, 1_500, 'ADS_TOKEN_MALFORMED'],
    ['hashes padded', `${b1}.${s1}.${h1}==`, 1_500, 'ADS_TOKEN_MALFORMED'],
    ['four parts', `${t1}.x`, 1_500, 'ADS_TOKEN_MALFORMED'],
    [
      'v1 body with pod hashes',
      `${signDecision(claims, key).split('.')[0]}.${s1}.${h1}`,
      1_500,
      'ADS_TOKEN_MALFORMED',
    ],
    ['v2 body without hashes', `${b1}.${s1}`, 1_500, 'ADS_TOKEN_MALFORMED'],
    ['array too short', `${editBody(b1, (a) => a.pop())}.${s1}.${h1}`, 1_500, 'ADS_TOKEN_MALFORMED'],
    ['fractional price', `${editBody(b1, (a) => (a[13] = 1.5))}.${s1}.${h1}`, 1_500, 'ADS_TOKEN_MALFORMED'],
    ['signed by another key', signPod(pod, other)[0]!, 1_500, 'ADS_TOKEN_UNKNOWN_KEY'],
  ];
  it.each(cases)('%s', (_name, token, now, code) => {
    const r = verifyDecisionToken(token, keys, now);
    if (code === null) expect(r.ok).toBe(true);
    else expect(r.ok ? 'ok' : r.error.code).toBe(code);
  });

  it('rejects every single-character edit of a pod token (seeded sweep)', () => {
    let seed = 777;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/';
    for (let i = 0; i < 300; i++) {
      const pos = Math.floor(rand() * t2.length);
      const ch = alpha[Math.floor(rand() * alpha.length)] as string;
      if (t2[pos] === ch) continue;
      const t = t2.slice(0, pos) + ch + t2.slice(pos + 1);
      expect(verifyDecisionToken(t, keys, 1_500).ok, `seed 777 iteration ${i}: edit at ${pos} to ${ch}`).toBe(
        false,
      );
    }
  });

  it('with a memo, checks a pod signature once for all its tokens and still refuses every edit', () => {
    const memo = new Map<string, boolean>();
    expect(verifyDecisionToken(t1, keys, 1_500, memo).ok).toBe(true);
    expect(verifyDecisionToken(t2, keys, 1_500, memo).ok).toBe(true);
    expect(verifyDecisionToken(t2, keys, 1_600, memo).ok).toBe(true);
    expect(memo.size).toBe(1); // one signature checked for two ads and three beacons
    // Expiry is judged per beacon, not remembered.
    expect(verifyDecisionToken(t2, keys, 2_000, memo)).toMatchObject({
      ok: false,
      error: { code: 'ADS_TOKEN_EXPIRED' },
    });
    // A remembered good signature never vouches for edited bytes.
    let seed = 4242;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/';
    for (let i = 0; i < 300; i++) {
      const pos = Math.floor(rand() * t2.length);
      const ch = alpha[Math.floor(rand() * alpha.length)] as string;
      if (t2[pos] === ch) continue;
      const t = t2.slice(0, pos) + ch + t2.slice(pos + 1);
      expect(
        verifyDecisionToken(t, keys, 1_500, memo).ok,
        `seed 4242 iteration ${i}: edit at ${pos} to ${ch}`,
      ).toBe(false);
    }
    // A forged signature is remembered as bad, and still refused.
    const [b, , h] = t1.split('.') as [string, string, string];
    const forged = `${b}.${signPod([ad(1, { decisionId: 'zz-1' })], other)[0]!.split('.')[1]}.${h}`;
    expect(verifyDecisionToken(forged, keys, 1_500, memo).ok).toBe(false);
    expect(verifyDecisionToken(forged, keys, 1_500, memo).ok).toBe(false);
  });
});

describe('batch tokens (v3: one signature for the pods of one turn)', () => {
  const podOf = (n: number, ads: number) =>
    Array.from({ length: ads }, (_, i) => {
      const { v: _v, ...rest } = {
        ...claims,
        decisionId: `b-${n}-${i + 1}`,
        podSequence: i + 1,
        adId: `cr-${n}`,
      };
      return rest;
    });
  const pods = [podOf(1, 2), podOf(2, 1), podOf(3, 3)];
  const signed = signPods(pods, key);

  it('gives every pod its own tokens, which verify to their claims as v3, under one signature', () => {
    expect(signed.map((t) => t.length)).toEqual([2, 1, 3]);
    signed.forEach((tokens, p) => {
      tokens.forEach((t, i) => {
        expect(t.split('.')).toHaveLength(4);
        expect(verifyDecisionToken(t, keys, 1_500)).toEqual({
          ok: true,
          claims: { ...claims, ...pods[p]![i], v: 3, keyId: 'k1' },
        });
      });
    });
    expect(new Set(signed.flat().map((t) => t.split('.')[1])).size).toBe(1);
    // Three pods: two levels of proof (1 index byte + 2 x 16 bytes).
    expect(Buffer.from(signed[0]![0]!.split('.')[3]!, 'base64url')).toHaveLength(33);
  });

  it('signs a lone pod as v2 and more than 16 pods with one signature per 16', () => {
    const [lone] = signPods([podOf(9, 2)], key);
    expect(lone![0]!.split('.')).toHaveLength(3);
    expect(verifyDecisionToken(lone![1]!, keys, 1_500)).toMatchObject({ ok: true, claims: { v: 2 } });
    const many = signPods(
      Array.from({ length: 17 }, (_, n) => podOf(n, 1)),
      key,
    );
    expect(new Set(many.map((t) => t[0]!.split('.')[1])).size).toBe(2);
    expect(many[16]![0]!.split('.')).toHaveLength(3); // the 17th pod is alone in its group: v2
    for (const t of many.flat()) expect(verifyDecisionToken(t, keys, 1_500).ok).toBe(true);
  });

  it('with a memo, checks the batch signature once for every pod of the batch', () => {
    const memo = new Map<string, boolean>();
    for (const t of signed.flat()) expect(verifyDecisionToken(t, keys, 1_500, memo).ok).toBe(true);
    expect(memo.size).toBe(1);
  });

  it('refuses a proof, body or index moved from another pod, and a v2 body in a v3 token', () => {
    const [b1, s1, h1, p1] = signed[0]![0]!.split('.') as [string, string, string, string];
    const [b3, , h3, p3] = signed[2]![0]!.split('.') as [string, string, string, string];
    const code = (t: string) => {
      const r = verifyDecisionToken(t, keys, 1_500);
      return r.ok ? 'ok' : r.error.code;
    };
    expect(code(`${b1}.${s1}.${h1}.${p3}`)).toBe('ADS_TOKEN_FORGED');
    expect(code(`${b3}.${s1}.${h1}.${p1}`)).toBe('ADS_TOKEN_FORGED');
    expect(code(`${b1}.${s1}.${h3}.${p3}`)).toBe('ADS_TOKEN_FORGED');
    const proof = Buffer.from(p1, 'base64url');
    proof[0] = 1;
    expect(code(`${b1}.${s1}.${h1}.${proof.toString('base64url')}`)).toBe('ADS_TOKEN_FORGED');
    proof[0] = 4; // beyond 2 levels
    expect(code(`${b1}.${s1}.${h1}.${proof.toString('base64url')}`)).toBe('ADS_TOKEN_MALFORMED');
    expect(code(`${b1}.${s1}.${h1}.${Buffer.alloc(1 + 5 * 16).toString('base64url')}`)).toBe(
      'ADS_TOKEN_MALFORMED',
    );
    // The same pod signed alone (v2) has a v2 body: it cannot stand in a v3 token.
    const [v2body] = signPod(pods[0]!, key)[0]!.split('.') as [string];
    expect(code(`${v2body}.${s1}.${h1}.${p1}`)).toBe('ADS_TOKEN_MALFORMED');
    // And a v3 token cut to three parts is not a v2 token.
    expect(code(`${b1}.${s1}.${h1}`)).toBe('ADS_TOKEN_MALFORMED');
  });

  it('rejects every single-character edit of a batch token (seeded sweep)', () => {
    const t2 = signed[2]![1]!;
    let seed = 99;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/';
    const memo = new Map<string, boolean>();
    expect(verifyDecisionToken(t2, keys, 1_500, memo).ok).toBe(true);
    for (let i = 0; i < 400; i++) {
      const pos = Math.floor(rand() * t2.length);
      const ch = alpha[Math.floor(rand() * alpha.length)] as string;
      if (t2[pos] === ch) continue;
      const t = t2.slice(0, pos) + ch + t2.slice(pos + 1);
      expect(
        verifyDecisionToken(t, keys, 1_500, memo).ok,
        `seed 99 iteration ${i}: edit at ${pos} to ${ch}`,
      ).toBe(false);
    }
  });
});

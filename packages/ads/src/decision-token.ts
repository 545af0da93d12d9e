/**
 * Signing and verifying decision tokens (the format is fixed by tracking-contract.ts).
 *
 * v1 (one signature per ad): `base64url(JSON(claims)) "." base64url(Ed25519(part 1's ASCII))`.
 * v2 (one signature per pod): `body "." sig "." hashes` where body is base64url(JSON of the
 * ad's claims as a positional array, see `v2Fields`), hashes is base64url of the first 16
 * bytes of SHA-256 of every ad body of the pod, in pod order, and sig is Ed25519 over
 * `"swarmcast-pod-v2:" + hashes`. Each ad's token holds only its own claims plus 22
 * characters per sibling, so a 3-ad pod costs one signature and its URLs stay short.
 *
 * Rules the verifier applies, in order (each failure is a value with a coded error):
 * 1. at most 4 KiB; two (v1) or three (v2) canonical base64url parts, the signature 64
 *    bytes, the hashes 1 to 20 times 16 bytes -> else MALFORMED;
 * 2. the body decodes to claims of exactly the contract's shape (v1: an object with v = 1;
 *    v2: the positional array with v = 2 whose podSequence is within the hashes) -> else MALFORMED;
 * 3. `keyId` names a known public key -> else UNKNOWN_KEY;
 * 4. (v2) the body's hash is the one at its podSequence, and the signature verifies
 *    -> else FORGED;
 * 5. `now < expiresAt` -> else EXPIRED (a valid but late token is reported as expired, not forged).
 */

import type { KeyObject } from 'node:crypto';
import { createHash, sign, verify } from 'node:crypto';
import { type AdsError, adsError } from './errors.ts';
import type { DecisionClaims } from './tracking-contract.ts';

/** The private half of one signing key; `keyId` goes into every claim it signs. */
export interface SigningKey {
  keyId: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** Public keys by keyId: the active key and the retired ones still accepted. */
export type PublicKeys = ReadonlyMap<string, KeyObject>;

export type VerifyResult = { ok: true; claims: DecisionClaims } | { ok: false; error: AdsError };

const maxTokenChars = 4096;
const b64url = /^[A-Za-z0-9_-]+$/;

/**
 * Signs a decision. The token's keyId is always the signing key's (any keyId in `claims`
 * is replaced), so a token can never name a key other than the one that signed it.
 */
export function signDecision(claims: Omit<DecisionClaims, 'keyId'>, key: SigningKey): string {
  // A per-ad token is always version 1 (version 2 is the pod token, see signPod).
  const full: DecisionClaims = { ...claims, v: 1, keyId: key.keyId };
  const body = Buffer.from(JSON.stringify(full)).toString('base64url');
  const signature = sign(null, Buffer.from(body, 'ascii'), key.privateKey).toString('base64url');
  return `${body}.${signature}`;
}

/** The fields of a v2 body, in array order. */
const v2Fields = [
  'v',
  'decisionId',
  'adId',
  'lineItemId',
  'campaignId',
  'advertiserId',
  'episodeId',
  'showId',
  'creatorId',
  'breakId',
  'position',
  'podSequence',
  'creativeDurationMs',
  'cpmMicros',
  'listenerId',
  'issuedAt',
  'expiresAt',
  'keyId',
] as const satisfies ReadonlyArray<keyof DecisionClaims>;

const hashBytes = 16;
const maxPodAds = 20;
const podDomain = 'swarmcast-pod-v2:';

function bodyHash(body: string): Buffer {
  return createHash('sha256').update(body, 'ascii').digest().subarray(0, hashBytes);
}

/**
 * Signs a break's answer once: returns one token per ad, in pod order (`ads[i]` must have
 * podSequence i + 1). Ed25519 signing costs more than serving a whole static document, so
 * a pod of n ads pays for one signature, not n.
 */
export function signPod(ads: ReadonlyArray<Omit<DecisionClaims, 'keyId' | 'v'>>, key: SigningKey): string[] {
  if (ads.length === 0 || ads.length > maxPodAds) throw new Error(`a pod has 1 to ${maxPodAds} ads`);
  const bodies = ads.map((ad, i) => {
    if (ad.podSequence !== i + 1) throw new Error('pod ads must be in podSequence order');
    const full: DecisionClaims = { ...ad, v: 2, keyId: key.keyId };
    return Buffer.from(JSON.stringify(v2Fields.map((f) => full[f]))).toString('base64url');
  });
  const hashes = Buffer.concat(bodies.map(bodyHash)).toString('base64url');
  const signature = sign(null, Buffer.from(podDomain + hashes, 'ascii'), key.privateKey).toString(
    'base64url',
  );
  return bodies.map((body) => `${body}.${signature}.${hashes}`);
}

/**
 * Signature checks already made, by (key, signed bytes, signature): a pod's ads share one
 * signature and each ad sends several beacons, so a batch of beacons needs one Ed25519
 * verification per pod instead of one per beacon. The key is the exact bytes checked, so a
 * remembered `true` can only stand for the same verification. The caller bounds its life
 * (one batch).
 */
export type SignatureMemo = Map<string, boolean>;

/** Verifies a token from a tracking URL; see the rules in this file's header. */
export function verifyDecisionToken(
  token: string,
  publicKeys: PublicKeys,
  now: number,
  memo?: SignatureMemo,
): VerifyResult {
  const fail = (code: Parameters<typeof adsError>[0], detail: string): VerifyResult => ({
    ok: false,
    error: adsError(code, detail),
  });
  if (typeof token !== 'string' || token.length > maxTokenChars) return fail('ADS_TOKEN_MALFORMED', 'length');
  const parts = token.split('.');
  if (parts.length !== 2 && parts.length !== 3)
    return fail('ADS_TOKEN_MALFORMED', 'expected two or three parts');
  const [body, sig, hashText] = parts as [string, string, string | undefined];
  let hashes: Buffer | null = null;
  if (hashText !== undefined) {
    if (!b64url.test(hashText)) return fail('ADS_TOKEN_MALFORMED', 'not base64url');
    hashes = Buffer.from(hashText, 'base64url');
    const n = hashes.length / hashBytes;
    if (!Number.isInteger(n) || n < 1 || n > maxPodAds || hashes.toString('base64url') !== hashText) {
      return fail('ADS_TOKEN_MALFORMED', 'pod hashes');
    }
  }
  if (!b64url.test(body) || !b64url.test(sig)) return fail('ADS_TOKEN_MALFORMED', 'not base64url');
  const signature = Buffer.from(sig, 'base64url');
  // Canonical form only: otherwise the spare bits of the last character give several
  // spellings of one signature, and an edited token would still verify.
  if (signature.length !== 64 || signature.toString('base64url') !== sig) {
    return fail('ADS_TOKEN_MALFORMED', 'signature is not 64 canonical bytes');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return fail('ADS_TOKEN_MALFORMED', 'claims are not JSON');
  }
  const claims = hashes === null ? asClaims(parsed) : asV2Claims(parsed, hashes.length / hashBytes);
  if (!claims) return fail('ADS_TOKEN_MALFORMED', 'claims have the wrong shape');
  const publicKey = publicKeys.get(claims.keyId);
  if (!publicKey) return fail('ADS_TOKEN_UNKNOWN_KEY', claims.keyId.slice(0, 64));
  const checkSignature = (signed: string): boolean => {
    const key = memo ? `${claims.keyId}\n${signed}\n${sig}` : '';
    const known = memo?.get(key);
    if (known !== undefined) return known;
    let ok = false;
    try {
      ok = verify(null, Buffer.from(signed, 'ascii'), publicKey, signature);
    } catch {
      ok = false;
    }
    memo?.set(key, ok);
    return ok;
  };
  let good: boolean;
  if (hashes === null) good = checkSignature(body);
  else {
    const at = (claims.podSequence - 1) * hashBytes;
    good = bodyHash(body).equals(hashes.subarray(at, at + hashBytes)) && checkSignature(podDomain + hashText);
  }
  if (!good) return fail('ADS_TOKEN_FORGED', 'bad signature');
  if (!(now < claims.expiresAt)) return fail('ADS_TOKEN_EXPIRED', `expired at ${claims.expiresAt}`);
  return { ok: true, claims };
}

const stringFields = [
  'decisionId',
  'adId',
  'lineItemId',
  'campaignId',
  'advertiserId',
  'episodeId',
  'showId',
  'creatorId',
  'breakId',
  'keyId',
] as const;
const integerFields = ['podSequence', 'creativeDurationMs', 'cpmMicros', 'issuedAt', 'expiresAt'] as const;

/** A v2 body (positional array) as DecisionClaims, if it has exactly the contract's shape. */
function asV2Claims(value: unknown, podSize: number): DecisionClaims | null {
  if (!Array.isArray(value) || value.length !== v2Fields.length) return null;
  const o: Record<string, unknown> = {};
  v2Fields.forEach((f, i) => {
    o[f] = value[i];
  });
  if (o.v !== 2) return null;
  const claims = shapeOf(o);
  return claims && claims.podSequence <= podSize ? claims : null;
}

/** Returns the value as DecisionClaims if it has exactly the contract's shape. */
function asClaims(value: unknown): DecisionClaims | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const o = value as Record<string, unknown>;
  return o.v === 1 ? shapeOf(o) : null;
}

/** The field checks both versions share. */
function shapeOf(o: Record<string, unknown>): DecisionClaims | null {
  for (const f of stringFields) {
    const s = o[f];
    if (typeof s !== 'string' || s.length === 0 || s.length > 256) return null;
  }
  for (const f of integerFields) {
    if (!Number.isSafeInteger(o[f]) || (o[f] as number) < 0) return null;
  }
  if (o.position !== 'pre' && o.position !== 'mid' && o.position !== 'post') return null;
  if ((o.podSequence as number) < 1) return null;
  if (o.listenerId !== null && (typeof o.listenerId !== 'string' || o.listenerId.length > 256)) return null;
  return o as unknown as DecisionClaims;
}

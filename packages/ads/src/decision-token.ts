/**
 * Signing and verifying decision tokens (the format is fixed by tracking-contract.ts):
 * `base64url(JSON(claims)) + "." + base64url(Ed25519(first part's ASCII bytes))`.
 *
 * Rules the verifier applies, in order (each failure is a value with a coded error):
 * 1. at most 4 KiB, exactly two canonical base64url parts, the second 64 bytes -> else MALFORMED;
 * 2. the first part decodes to a JSON object with every DecisionClaims field of the right
 *    type (v = 1) -> else MALFORMED;
 * 3. `keyId` names a known public key -> else UNKNOWN_KEY;
 * 4. the signature verifies over the first part's bytes -> else FORGED;
 * 5. `now < expiresAt` -> else EXPIRED (a valid but late token is reported as expired, not forged).
 */

import type { KeyObject } from 'node:crypto';
import { sign, verify } from 'node:crypto';
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
  const full: DecisionClaims = { ...claims, keyId: key.keyId };
  const body = Buffer.from(JSON.stringify(full)).toString('base64url');
  const signature = sign(null, Buffer.from(body, 'ascii'), key.privateKey).toString('base64url');
  return `${body}.${signature}`;
}

/** Verifies a token from a tracking URL; see the rules in this file's header. */
export function verifyDecisionToken(token: string, publicKeys: PublicKeys, now: number): VerifyResult {
  const fail = (code: Parameters<typeof adsError>[0], detail: string): VerifyResult => ({
    ok: false,
    error: adsError(code, detail),
  });
  if (typeof token !== 'string' || token.length > maxTokenChars) return fail('ADS_TOKEN_MALFORMED', 'length');
  const parts = token.split('.');
  if (parts.length !== 2) return fail('ADS_TOKEN_MALFORMED', 'expected two parts');
  const [body, sig] = parts as [string, string];
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
  const claims = asClaims(parsed);
  if (!claims) return fail('ADS_TOKEN_MALFORMED', 'claims have the wrong shape');
  const publicKey = publicKeys.get(claims.keyId);
  if (!publicKey) return fail('ADS_TOKEN_UNKNOWN_KEY', claims.keyId.slice(0, 64));
  let good = false;
  try {
    good = verify(null, Buffer.from(body, 'ascii'), publicKey, signature);
  } catch {
    good = false;
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

/** Returns the value as DecisionClaims if it has exactly the contract's shape. */
function asClaims(value: unknown): DecisionClaims | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const o = value as Record<string, unknown>;
  if (o.v !== 1) return null;
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

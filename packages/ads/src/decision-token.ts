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
 *
 * v3 (one signature per batch of pods, see `signPods`): `body "." sig "." hashes "." proof`.
 * body and hashes as in v2 (the body's v = 3). The pod's leaf is the first 16 bytes of
 * SHA-256(0x00 || hashes as ASCII); inner nodes are SHA-256(0x01 || left || right) cut to
 * 16 bytes, over the batch's leaves padded with 16 zero bytes to a power of two; proof is
 * base64url of one byte (the pod's leaf index) and the sibling of each level, leaf upwards
 * (1 to 4 levels: 2 to 16 pods); sig is Ed25519 over `"swarmcast-batch-v3:" +
 * base64url(root)`. Rule 1 also holds the proof to that shape and the index below
 * 2^levels; rule 4 walks the proof from the pod's leaf to the signed root.
 */

import type { KeyObject } from 'node:crypto';
import { hash, sign, verify } from 'node:crypto';
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
const batchDomain = 'swarmcast-batch-v3:';
/** At most 2^4 = 16 pods share one v3 signature: the proof stays at 87 characters. */
const maxBatchLevels = 4;
export const maxPodsPerSignature = 2 ** maxBatchLevels;

// One-shot `hash` rather than a `createHash` object per input: a pod hashes every ad body
// and the pipeline every beacon's, and the Hash object cost more than the hashing.
function bodyHash(body: string): Buffer {
  return hash('sha256', body, 'buffer').subarray(0, hashBytes);
}

/** A v3 batch's leaf for one pod: domain byte 0 keeps a leaf from passing as an inner node. */
function podLeaf(hashes: string): Buffer {
  // hashes is base64url (ASCII), so its UTF-8 bytes after the tag byte are its characters.
  return hash('sha256', `\u0000${hashes}`, 'buffer').subarray(0, hashBytes);
}
const nodeTag = Buffer.from([1]);
const zeroLeaf = Buffer.alloc(hashBytes);

function merkleNode(left: Buffer, right: Buffer): Buffer {
  return hash('sha256', Buffer.concat([nodeTag, left, right]), 'buffer').subarray(0, hashBytes);
}

type UnsignedAd = Omit<DecisionClaims, 'keyId' | 'v'>;

/**
 * An ad's claims as the positional array of a v2/v3 body, in `v2Fields` order, written out:
 * the generic form (`v2Fields.map((f) => ({ ...ad, v, keyId })[f])`) cost about 10 us per ad,
 * most of signing a pod (profile of /ads/vast); the verifier reads the array by `v2Fields`,
 * so the round-trip tests hold the two orders together.
 */
function positional(ad: UnsignedAd, v: 2 | 3, keyId: string): unknown[] {
  return [
    v,
    ad.decisionId,
    ad.adId,
    ad.lineItemId,
    ad.campaignId,
    ad.advertiserId,
    ad.episodeId,
    ad.showId,
    ad.creatorId,
    ad.breakId,
    ad.position,
    ad.podSequence,
    ad.creativeDurationMs,
    ad.cpmMicros,
    ad.listenerId,
    ad.issuedAt,
    ad.expiresAt,
    keyId,
  ];
}

/** Why `ads` cannot be signed as a pod (a programmer error), or null. */
export function podProblem(ads: ReadonlyArray<UnsignedAd>): string | null {
  if (ads.length === 0 || ads.length > maxPodAds) return `a pod has 1 to ${maxPodAds} ads`;
  if (ads.some((ad, i) => ad.podSequence !== i + 1)) return 'pod ads must be in podSequence order';
  return null;
}

/** The pod's ad bodies (version `v`) and their hash list, checked for pod order. */
function podBodies(
  ads: ReadonlyArray<UnsignedAd>,
  key: SigningKey,
  v: 2 | 3,
): { bodies: string[]; hashes: string } {
  const problem = podProblem(ads);
  if (problem) throw new Error(problem);
  const bodies = ads.map((ad) =>
    Buffer.from(JSON.stringify(positional(ad, v, key.keyId))).toString('base64url'),
  );
  return { bodies, hashes: Buffer.concat(bodies.map(bodyHash)).toString('base64url') };
}

/**
 * Signs a break's answer once: returns one token per ad, in pod order (`ads[i]` must have
 * podSequence i + 1). Ed25519 signing costs more than serving a whole static document, so
 * a pod of n ads pays for one signature, not n.
 */
export function signPod(ads: ReadonlyArray<UnsignedAd>, key: SigningKey): string[] {
  const { bodies, hashes } = podBodies(ads, key, 2);
  const signature = sign(null, Buffer.from(podDomain + hashes, 'ascii'), key.privateKey).toString(
    'base64url',
  );
  return bodies.map((body) => `${body}.${signature}.${hashes}`);
}

/**
 * Signs several pods (break answers) with one signature per up to 16 pods: returns each
 * pod's tokens, in the order given. A lone pod gets v2 tokens (as `signPod`); pods signed
 * together get v3 tokens, each carrying its pod's inclusion proof in the batch (see the
 * header). What a token proves is unchanged: the key's holder issued exactly these claims.
 * The ad server gathers the pods decided in one event-loop turn (batch-signer.ts), so under
 * load a signature is shared by every answer of that turn.
 */
export function signPods(pods: ReadonlyArray<ReadonlyArray<UnsignedAd>>, key: SigningKey): string[][] {
  const out: string[][] = [];
  for (let at = 0; at < pods.length; at += maxPodsPerSignature) {
    const group = pods.slice(at, at + maxPodsPerSignature);
    if (group.length === 1) {
      out.push(signPod(group[0]!, key));
      continue;
    }
    const signed = group.map((ads) => podBodies(ads, key, 3));
    let levels = 1;
    while (2 ** levels < group.length) levels++;
    // tree[0] = leaves (padded to 2^levels), tree[levels] = [root].
    const tree: Buffer[][] = [signed.map((p) => podLeaf(p.hashes))];
    while (tree[0]!.length < 2 ** levels) tree[0]!.push(zeroLeaf);
    for (let l = 0; l < levels; l++) {
      const below = tree[l]!;
      const row: Buffer[] = [];
      for (let i = 0; i < below.length; i += 2) row.push(merkleNode(below[i]!, below[i + 1]!));
      tree.push(row);
    }
    const root = tree[levels]![0]!.toString('base64url');
    const signature = sign(null, Buffer.from(batchDomain + root, 'ascii'), key.privateKey).toString(
      'base64url',
    );
    signed.forEach((p, index) => {
      const proof: Buffer[] = [Buffer.from([index])];
      for (let l = 0, i = index; l < levels; l++, i >>= 1) proof.push(tree[l]![i ^ 1]!);
      const proofText = Buffer.concat(proof).toString('base64url');
      out.push(p.bodies.map((body) => `${body}.${signature}.${p.hashes}.${proofText}`));
    });
  }
  return out;
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
  if (parts.length < 2 || parts.length > 4) return fail('ADS_TOKEN_MALFORMED', 'expected two to four parts');
  const [body, sig, hashText, proofText] = parts as [string, string, string | undefined, string | undefined];
  let hashes: Buffer | null = null;
  let proof: Buffer | null = null;
  if (proofText !== undefined) {
    if (!b64url.test(proofText)) return fail('ADS_TOKEN_MALFORMED', 'not base64url');
    proof = Buffer.from(proofText, 'base64url');
    const levels = (proof.length - 1) / hashBytes;
    if (
      !Number.isInteger(levels) ||
      levels < 1 ||
      levels > maxBatchLevels ||
      proof[0]! >= 2 ** levels ||
      proof.toString('base64url') !== proofText
    ) {
      return fail('ADS_TOKEN_MALFORMED', 'batch proof');
    }
  }
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
  const claims =
    hashes === null ? asClaims(parsed) : asPodClaims(parsed, hashes.length / hashBytes, proof ? 3 : 2);
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
    good = bodyHash(body).equals(hashes.subarray(at, at + hashBytes));
    if (good && proof === null) good = checkSignature(podDomain + hashText);
    else if (good && proof !== null) {
      let node = podLeaf(hashText!);
      let index = proof[0]!;
      for (let off = 1; off < proof.length; off += hashBytes, index >>= 1) {
        const sibling = proof.subarray(off, off + hashBytes);
        node = index & 1 ? merkleNode(sibling, node) : merkleNode(node, sibling);
      }
      good = checkSignature(batchDomain + node.toString('base64url'));
    }
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

/**
 * A v2 or v3 body (positional array) as DecisionClaims, if it has exactly the contract's
 * shape and the version its token's form says (a v2 body in a v3 token is refused).
 */
function asPodClaims(value: unknown, podSize: number, v: 2 | 3): DecisionClaims | null {
  if (!Array.isArray(value) || value.length !== v2Fields.length) return null;
  const o: Record<string, unknown> = {};
  v2Fields.forEach((f, i) => {
    o[f] = value[i];
  });
  if (o.v !== v) return null;
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

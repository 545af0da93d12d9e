import { createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { inclusionProof, leafHash, merkleRoot, verifyInclusion } from './merkle.ts';

/**
 * Signed daily statements (docs/verifiable-statements.md): for one campaign (what its
 * advertiser is billed) or one episode (what its creator is paid) and one UTC day, the counts
 * and the total, and the root of a Merkle tree (merkle.ts) over one leaf per ledger entry
 * behind them. A leaf names no listener: an opaque hash of the entry, its kind, its line item
 * and its amount. The statement is signed with Ed25519; the public keys are published at
 * `/.well-known/swarmcast-statements.json`. `verifyStatementBundle` needs nothing from the
 * node but the bundle and the public key.
 */
export const statementFormat = 'swarmcast-statement/1';
export const wellKnownStatementKeys = '/.well-known/swarmcast-statements.json';

export type StatementKind = 'campaign' | 'episode';
export type LeafKind = 'impression' | 'delivery' | 'refund';

export interface StatementLeaf {
  /** Opaque: SHA-256 of the ledger entry id (an impression, a delivery, a refund). */
  event: string;
  kind: LeafKind;
  lineItem: string;
  /** What this entry adds to the statement's total: a charge (or earning) > 0, a refund < 0. */
  micros: number;
}

export interface StatementCounts {
  impressions: number;
  deliveries: number;
  refunds: number;
}

export interface Statement {
  format: typeof statementFormat;
  kind: StatementKind;
  /** The campaign id or the episode id. */
  subject: string;
  /** The ledger account the amounts are read from: `advertiser:<id>` or `creator:<id>`. */
  account: string;
  /** The UTC day, YYYY-MM-DD. */
  day: string;
  currency: string;
  counts: StatementCounts;
  /** Sum of the leaves' micros. */
  totalMicros: number;
  leafCount: number;
  /** RFC 9162 Merkle tree head over the leaves, lower-case hex. */
  root: string;
  keyId: string;
  /**
   * Absent on a day's statement; 1, 2, ... on the supplements issued after it, each over the
   * entries of that day booked after the statements before it were issued (store.ts).
   */
  supplement?: number;
}

export interface StatementBundle {
  statement: Statement;
  /** Ed25519 over canonicalJson(statement), base64url. */
  signature: string;
  /** Where the node publishes its public keys. */
  keys: string;
  leaves: Array<{ index: number; leaf: StatementLeaf; proof: string[] }>;
  /**
   * Not signed: how many supplements the node had issued for this day when it served the day's
   * statement (fetch each with `&supplement=N`). The day's total is the sum over all of them.
   */
  supplements?: number;
  /**
   * Not signed: set when the bundle holds only some leaves (an advertiser's view of an episode's
   * statement, store.ts `advertiserView`): each is proven, but the counts and total cannot be
   * recomputed from them.
   */
  only?: { advertiser: string };
}

/** Published public keys (JWK, OKP Ed25519). */
export interface StatementKeys {
  keys: Array<{ keyId: string; kty: 'OKP'; crv: 'Ed25519'; x: string }>;
}

/** JSON with object keys sorted at every level and no whitespace: the bytes that are hashed and signed. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new Error(`not an integer: ${v}`);
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((f) => o[f] !== undefined)
    .sort()
    .map((f) => `${JSON.stringify(f)}:${canonicalJson(o[f])}`)
    .join(',')}}`;
}

const leafHashOf = (leaf: StatementLeaf) => leafHash(Buffer.from(canonicalJson(leaf), 'utf8'));

/** Counts and total as the leaves say them. */
export function tally(leaves: readonly StatementLeaf[]): { counts: StatementCounts; totalMicros: number } {
  const counts: StatementCounts = { impressions: 0, deliveries: 0, refunds: 0 };
  let totalMicros = 0;
  for (const l of leaves) {
    if (l.kind === 'impression') counts.impressions++;
    else if (l.kind === 'delivery') counts.deliveries++;
    else counts.refunds++;
    totalMicros += l.micros;
  }
  return { counts, totalMicros };
}

/** Builds and signs the statement over these leaves (in this order), with every inclusion proof. */
export function signStatement(
  head: Pick<Statement, 'kind' | 'subject' | 'account' | 'day' | 'currency' | 'supplement'>,
  leaves: readonly StatementLeaf[],
  key: { keyId: string; privateKey: KeyObject },
  keysUrl: string,
): StatementBundle {
  const hashes = leaves.map(leafHashOf);
  const statement: Statement = {
    format: statementFormat,
    ...head,
    ...tally(leaves),
    leafCount: leaves.length,
    root: merkleRoot(hashes).toString('hex'),
    keyId: key.keyId,
  };
  const signature = sign(null, Buffer.from(canonicalJson(statement), 'utf8'), key.privateKey).toString(
    'base64url',
  );
  return {
    statement,
    signature,
    keys: keysUrl,
    leaves: leaves.map((leaf, index) => ({
      index,
      leaf,
      proof: inclusionProof(hashes, index).map((h) => h.toString('hex')),
    })),
  };
}

export interface Verification {
  ok: boolean;
  /** Every check that failed, in words. */
  problems: string[];
  /**
   * True when the bundle says it holds only some leaves (`only`): signature and each leaf's proof
   * were checked; the leaves missing and the totals were not (they cover other advertisers).
   */
  partial: boolean;
  /** Recomputed from the leaves (what the invoice line must be; for a partial bundle, its leaves' part). */
  counts: StatementCounts;
  totalMicros: number;
}

const isHex32 = (s: unknown): s is string => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s);

/**
 * Checks a bundle without trusting the node: the signature under the published key, every
 * leaf's inclusion proof against the signed root, that the leaves are all there (one per
 * index 0..leafCount-1), and that counts and total recomputed from the leaves are the signed ones.
 */
export function verifyStatementBundle(bundle: StatementBundle, published: StatementKeys): Verification {
  const problems: string[] = [];
  const s = bundle.statement;
  const leaves = Array.isArray(bundle.leaves) ? bundle.leaves : [];
  const recomputed = tally(leaves.map((l) => l.leaf));
  if (s?.format !== statementFormat) problems.push(`unknown statement format ${JSON.stringify(s?.format)}`);
  const jwk = published.keys?.find((k) => k.keyId === s?.keyId);
  if (!jwk) problems.push(`key ${JSON.stringify(s?.keyId)} is not among the published keys`);
  else {
    let good = false;
    try {
      const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
      good = verify(
        null,
        Buffer.from(canonicalJson(s), 'utf8'),
        key,
        Buffer.from(bundle.signature ?? '', 'base64url'),
      );
    } catch {
      good = false;
    }
    if (!good)
      problems.push('the signature does not match the statement (it was changed, or signed by another key)');
  }
  if (!isHex32(s?.root)) problems.push('the statement has no Merkle root');
  const root = Buffer.from(isHex32(s?.root) ? s.root : '', 'hex');
  const seen = new Set<number>();
  for (const l of leaves) {
    const proof =
      Array.isArray(l.proof) && l.proof.every(isHex32) ? l.proof.map((h) => Buffer.from(h, 'hex')) : null;
    if (seen.has(l.index)) problems.push(`leaf ${l.index} appears twice`);
    seen.add(l.index);
    let included = false;
    try {
      included = proof !== null && verifyInclusion(leafHashOf(l.leaf), l.index, s.leafCount, proof, root);
    } catch {
      included = false;
    }
    if (!included)
      problems.push(`leaf ${l.index} is not in the signed tree (its content or proof was changed)`);
  }
  const partial = bundle.only !== undefined;
  if (partial) return { ok: problems.length === 0, problems, partial, ...recomputed };
  const missing = [];
  for (let i = 0; i < (Number.isSafeInteger(s?.leafCount) ? s.leafCount : 0) && missing.length < 10; i++) {
    if (!seen.has(i)) missing.push(i);
  }
  if (missing.length)
    problems.push(
      `leaves missing from the bundle: ${missing.join(', ')}${missing.length === 10 ? ', ...' : ''}`,
    );
  for (const f of ['impressions', 'deliveries', 'refunds'] as const) {
    if (s?.counts?.[f] !== recomputed.counts[f]) {
      problems.push(`${f}: the statement says ${s?.counts?.[f]}, the leaves count ${recomputed.counts[f]}`);
    }
  }
  if (s?.totalMicros !== recomputed.totalMicros) {
    problems.push(
      `total: the statement says ${s?.totalMicros} micros, the leaves add up to ${recomputed.totalMicros}`,
    );
  }
  return { ok: problems.length === 0, problems, partial, ...recomputed };
}

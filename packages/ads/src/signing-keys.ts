/**
 * Ed25519 signing keys and their rotation. A key ring has one active key (signs new
 * decisions) and retired keys whose public halves still verify tokens signed before the
 * rotation, until the operator drops them (after the longest token lifetime has passed).
 * Keys persist as JWK (`{kty:"OKP", crv:"Ed25519", x, d}`) plus their keyId.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { PublicKeys, SigningKey } from './decision-token.ts';

/** Makes a new key. `keyId` must be unique over the key ring's history, e.g. "k2026-11-23". */
export function generateSigningKey(keyId: string): SigningKey {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(keyId)) throw new Error(`bad keyId ${JSON.stringify(keyId)}`);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { keyId, privateKey, publicKey };
}

export interface KeyRing {
  active: SigningKey;
  /** Older keys, newest first: verify only. */
  retired: ReadonlyArray<{ keyId: string; publicKey: KeyObject; retiredAt: number }>;
  /**
   * Keys that become active later (a rotation announced ahead): they verify already, so a
   * process that switches first signs nothing another process cannot verify.
   */
  upcoming?: ReadonlyArray<{ keyId: string; publicKey: KeyObject; activeFrom: number }>;
}

/** A ring with one active key. */
export function keyRing(active: SigningKey): KeyRing {
  return { active, retired: [] };
}

/** Makes `next` the active key; the old one keeps verifying. Pure: returns a new ring. */
export function rotateKey(ring: KeyRing, next: SigningKey, now: number): KeyRing {
  if (next.keyId === ring.active.keyId || ring.retired.some((r) => r.keyId === next.keyId)) {
    throw new Error(`keyId ${next.keyId} was already used`);
  }
  const old = { keyId: ring.active.keyId, publicKey: ring.active.publicKey, retiredAt: now };
  return { active: next, retired: [old, ...ring.retired] };
}

/** Drops retired keys retired before `cutoff` (tokens they signed have all expired). */
export function dropRetiredBefore(ring: KeyRing, cutoff: number): KeyRing {
  return { active: ring.active, retired: ring.retired.filter((r) => r.retiredAt >= cutoff) };
}

/** The public keys a verifier (the measure part) should accept. */
export function publicKeysOf(ring: KeyRing): PublicKeys {
  const m = new Map<string, KeyObject>([[ring.active.keyId, ring.active.publicKey]]);
  for (const r of ring.retired) m.set(r.keyId, r.publicKey);
  for (const u of ring.upcoming ?? []) m.set(u.keyId, u.publicKey);
  return m;
}

export interface SigningKeyJwk {
  keyId: string;
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  d?: string;
}

/** Serialises a key (with its private half) for the operator's key store. */
export function exportSigningKey(key: SigningKey): SigningKeyJwk {
  const jwk = key.privateKey.export({ format: 'jwk' }) as { x: string; d: string };
  return { keyId: key.keyId, kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d };
}

/** Serialises only the public half, for verifiers. */
export function exportPublicKey(keyId: string, publicKey: KeyObject): SigningKeyJwk {
  const jwk = publicKey.export({ format: 'jwk' }) as { x: string };
  return { keyId, kty: 'OKP', crv: 'Ed25519', x: jwk.x };
}

export function importSigningKey(jwk: SigningKeyJwk): SigningKey {
  if (!jwk.d) throw new Error(`key ${jwk.keyId} has no private half`);
  const privateKey = createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d },
    format: 'jwk',
  });
  return { keyId: jwk.keyId, privateKey, publicKey: createPublicKey(privateKey) };
}

/** Builds a verifier's key map from public JWKs (e.g. fetched from `/ads/keys`). */
export function importPublicKeys(jwks: readonly SigningKeyJwk[]): PublicKeys {
  const m = new Map<string, KeyObject>();
  for (const j of jwks)
    m.set(j.keyId, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: j.x }, format: 'jwk' }));
  return m;
}

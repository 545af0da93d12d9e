/**
 * The node's secrets under its data dir: the ad server's decision-signing key (a JWK made on
 * first start) and the admin token. Files are created with mode 0600 and never rewritten, so
 * a restart keeps signing with the same key and old tracking URLs still verify.
 */
import { randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  exportSigningKey,
  generateSigningKey,
  importSigningKey,
  type KeyRing,
  keyRing,
  type SigningKeyJwk,
} from '@swarmcast/ads';

export const signingKeyFile = 'ads-signing-key.jwk.json';
export const adminTokenFile = 'admin-token';

/** Reads the file, or creates it with `make()` (mode 0600) when absent; a racing creator wins. */
async function readOrCreate(path: string, make: () => string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  try {
    await writeFile(path, make(), { mode: 0o600, flag: 'wx' });
    // The umask may have cleared bits, never added them; chmod makes 0600 exact.
    await chmod(path, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return readFile(path, 'utf8');
}

/** The ad server's key ring: the key in `<dataDir>/ads-signing-key.jwk.json`, made on first start. */
export async function loadKeyRing(dataDir: string, now: number): Promise<KeyRing> {
  const text = await readOrCreate(join(dataDir, signingKeyFile), () =>
    JSON.stringify(exportSigningKey(generateSigningKey(`node-${now.toString(36)}`))),
  );
  return keyRing(importSigningKey(JSON.parse(text) as SigningKeyJwk));
}

/**
 * The admin token: `fromEnv` (SWARMCAST_ADMIN_TOKEN) when set, else the one in
 * `<dataDir>/admin-token`, made on first start so the operator can read it there.
 */
export async function loadAdminToken(dataDir: string, fromEnv: string | undefined): Promise<string> {
  if (fromEnv && fromEnv.trim().length > 0) return fromEnv.trim();
  return (
    await readOrCreate(join(dataDir, adminTokenFile), () => randomBytes(24).toString('base64url'))
  ).trim();
}

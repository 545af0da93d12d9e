/**
 * The node's secrets under its data dir: the ad server's decision-signing key (a JWK made on
 * first start), the key that signs daily statements, and the admin token. Files are created with mode 0600 and never rewritten, so
 * a restart keeps signing with the same key and old tracking URLs still verify.
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  exportSigningKey,
  generateSigningKey,
  importSigningKey,
  type KeyRing,
  type SigningKey,
  type SigningKeyJwk,
} from '@swarmcast/ads';
import { parseRingFile, ringAt, signingKeyFile } from './key-ring.ts';

export { signingKeyFile };
export const statementKeyFile = 'statement-signing-key.jwk.json';
export const adminTokenFile = 'admin-token';

/**
 * Reads the file, or creates it with `make()` (mode 0600) when absent; a racing creator wins.
 * Several processes may start together on one data dir, so the file appears whole or not at
 * all: the content is written to a private temporary file first, then hard-linked into
 * place (link, unlike rename, never replaces a file another process already put there), so
 * a reader never sees a partial file and every process ends up with the one winner's secret.
 */
async function readOrCreate(path: string, make: () => string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, make(), { mode: 0o600, flag: 'wx' });
    // The umask may have cleared bits, never added them; chmod makes 0600 exact.
    await chmod(temporary, 0o600);
    await link(temporary, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(temporary).catch(() => {});
  }
  return readFile(path, 'utf8');
}

/**
 * The ad server's key ring at `now`: `<dataDir>/ads-signing-key.jwk.json`, made on first start
 * with one key; `swarmcast keys rotate` adds keys (key-ring.ts).
 */
export async function loadKeyRing(dataDir: string, now: number): Promise<KeyRing> {
  const text = await readOrCreate(join(dataDir, signingKeyFile), () =>
    JSON.stringify(exportSigningKey(generateSigningKey(`node-${now.toString(36)}`))),
  );
  return ringAt(parseRingFile(text), now);
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

/**
 * The key that signs daily statements (measure's statements/store.ts): `fromEnv`
 * (SWARMCAST_STATEMENT_KEY, a JWK `{"keyId","kty":"OKP","crv":"Ed25519","x","d"}`) when set, for
 * nodes whose processes share no disk; else `<dataDir>/statement-signing-key.jwk.json`, made on
 * first start. Never the database: a dump or backup of it must not let anyone sign statements.
 */
export async function loadStatementKey(
  dataDir: string,
  fromEnv: string | undefined,
  now: number,
): Promise<SigningKey> {
  if (fromEnv && fromEnv.trim().length > 0) {
    try {
      const jwk = JSON.parse(fromEnv) as SigningKeyJwk;
      // The key id goes into every statement and the well-known list.
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(String(jwk.keyId))) throw new Error('bad keyId');
      return importSigningKey(jwk);
    } catch (err) {
      // The variable's value is a secret: say what is wrong, never echo it.
      throw new Error('SWARMCAST_STATEMENT_KEY is not an Ed25519 JWK with keyId, x and d', { cause: err });
    }
  }
  const text = await readOrCreate(join(dataDir, statementKeyFile), () =>
    JSON.stringify(
      exportSigningKey(generateSigningKey(`s${now.toString(36)}-${randomBytes(4).toString('hex')}`)),
    ),
  );
  return importSigningKey(JSON.parse(text) as SigningKeyJwk);
}

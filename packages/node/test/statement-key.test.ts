import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { exportPublicKey, exportSigningKey, generateSigningKey } from '@swarmcast/ads';
import { scratchDir } from '@swarmcast/testkit';
import { describe, expect, it } from 'vitest';
import { loadStatementKey, statementKeyFile } from '../src/secrets.ts';

/** The statement signing key lives outside the database (issue 13): the env, or a 0600 file. */
describe('the statement signing key', () => {
  it('is made once in the data dir, mode 0600, and every process starting on it gets the same key', async () => {
    const dir = await scratchDir('statement-key');
    try {
      const keys = await Promise.all([1, 2, 3].map(() => loadStatementKey(dir.path, undefined, 1_000)));
      const xs = keys.map((k) => exportPublicKey(k.keyId, k.publicKey).x);
      expect(new Set(xs).size).toBe(1);
      expect((await stat(join(dir.path, statementKeyFile))).mode & 0o777).toBe(0o600);
      const again = await loadStatementKey(dir.path, '', 2_000);
      expect(again.keyId).toBe(keys[0]!.keyId);
    } finally {
      await dir.remove();
    }
  });

  it('comes from SWARMCAST_STATEMENT_KEY when set (no file made); a bad value fails without echoing it', async () => {
    const dir = await scratchDir('statement-key-env');
    try {
      const mine = generateSigningKey('st-ops-1');
      const k = await loadStatementKey(dir.path, JSON.stringify(exportSigningKey(mine)), 1_000);
      expect(k.keyId).toBe('st-ops-1');
      expect(exportPublicKey(k.keyId, k.publicKey).x).toBe(exportPublicKey(mine.keyId, mine.publicKey).x);
      await expect(stat(join(dir.path, statementKeyFile))).rejects.toThrow();
      const secret = exportSigningKey(mine).d!;
      for (const bad of [
        `{"keyId":"st","kty":"OKP","crv":"Ed25519","x":"${secret}"}`, // no private half
        JSON.stringify({ ...exportSigningKey(mine), keyId: 'bad id/..' }),
        'not json',
      ]) {
        const err = await loadStatementKey(dir.path, bad, 1_000).then(
          () => null,
          (e: Error) => e,
        );
        expect(err?.message).toMatch(/SWARMCAST_STATEMENT_KEY is not an Ed25519 JWK/);
        expect(err?.message).not.toContain(secret);
      }
    } finally {
      await dir.remove();
    }
  });
});

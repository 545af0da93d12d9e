import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { exportSigningKey } from '@swarmcast/ads';
import { scratchDir } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAdminToken, loadKeyRing, signingKeyFile } from '../src/secrets.ts';

/**
 * Several processes started together on one data dir (issue 19): one read the signing-key
 * file while another was still writing it and died with "Unexpected end of JSON input". The
 * file must appear whole or not at all, and every process must end up with the same key.
 */
let dir: Awaited<ReturnType<typeof scratchDir>>;
beforeAll(async () => {
  dir = await scratchDir('secrets-race-');
});
afterAll(async () => {
  await dir?.remove();
});

const root = join(import.meta.dirname, '..', '..', '..');

describe('secrets made by several starters at once', () => {
  it('in one process: every concurrent loader gets the one key and token', async () => {
    for (let round = 0; round < 30; round++) {
      const at = join(dir.path, `round-${round}`);
      await mkdir(at);
      const rings = await Promise.all(Array.from({ length: 8 }, () => loadKeyRing(at, Date.now())));
      const tokens = await Promise.all(Array.from({ length: 8 }, () => loadAdminToken(at, undefined)));
      const onDisk = JSON.parse(await readFile(join(at, signingKeyFile), 'utf8')) as { x: string };
      expect(new Set(rings.map((r) => exportSigningKey(r.active).x))).toEqual(new Set([onDisk.x]));
      expect(new Set(tokens).size).toBe(1);
      // No temporary file is left behind.
      expect((await readdir(at)).sort()).toEqual(['admin-token', signingKeyFile].sort());
    }
  });

  it('a reader on another thread never sees a partial key file', async () => {
    const base = join(dir.path, 'watched');
    await mkdir(base);
    const rounds = 300;
    // The reader spins on each round's path, on its own thread, as another process would.
    const reader = new Worker(
      `const { readFileSync } = require('node:fs');
       const { workerData, parentPort } = require('node:worker_threads');
       const bad = [];
       const until = Date.now() + 120000;
       for (let i = 0; i < workerData.rounds && Date.now() < until; i++) {
         const path = workerData.base + '/r' + i + '/' + workerData.file;
         for (;;) {
           let text;
           try { text = readFileSync(path, 'utf8'); } catch { if (Date.now() > until) break; continue; }
           try { JSON.parse(text); } catch { bad.push(i + ':' + JSON.stringify(text.slice(0, 20))); }
           break;
         }
       }
       parentPort.postMessage(bad);`,
      { eval: true, workerData: { base, rounds, file: signingKeyFile } },
    );
    const verdict = new Promise<string[]>((resolve, reject) => {
      reader.once('message', resolve);
      reader.once('error', reject);
    });
    for (let i = 0; i < rounds; i++) {
      await mkdir(join(base, `r${i}`));
      await loadKeyRing(join(base, `r${i}`), Date.now());
    }
    expect(await verdict).toEqual([]);
    await reader.terminate();
  }, 180_000);

  it('in four processes started together: all load the same key', async () => {
    const at = join(dir.path, 'processes');
    await mkdir(at);
    const script = `
      const { loadKeyRing } = await import(${JSON.stringify(join(root, 'packages/node/src/secrets.ts'))});
      const { exportSigningKey } = await import('@swarmcast/ads');
      const ring = await loadKeyRing(${JSON.stringify(at)}, Date.now());
      process.stdout.write(exportSigningKey(ring.active).x);
    `;
    const runs = Array.from(
      { length: 4 },
      () =>
        new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
          const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
            cwd: root,
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let out = '';
          let err = '';
          child.stdout.on('data', (d) => (out += String(d)));
          child.stderr.on('data', (d) => (err += String(d)));
          child.on('exit', (code) => resolve({ code, out, err }));
        }),
    );
    const results = await Promise.all(runs);
    for (const r of results) expect(r.code, r.err).toBe(0);
    const onDisk = JSON.parse(await readFile(join(at, signingKeyFile), 'utf8')) as { x: string };
    expect(results.map((r) => r.out)).toEqual(Array(4).fill(onDisk.x));
  }, 120_000);
});

import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTorrent } from '@swarmcast/bittorrent/node';
import { scratchDir, waitFor } from '@swarmcast/testkit';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');

/**
 * `npm start` runs the bundle scripts/build.mjs makes (dist/swarmcast.mjs), not the sources:
 * every file that finds something next to itself must still find it from the bundle. The
 * player's own bundler once resolved its entry from dist/ and every episode page lost its
 * player (500 on /assets/player.js) while every test of the sources passed.
 */
describe('the built node (what npm start runs)', () => {
  let child: ChildProcess | undefined;
  const cleanup: Array<() => Promise<void>> = [];
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const gone = new Promise((r) => child?.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
    for (const c of cleanup) await c();
  });

  it('serves the portal, the player bundle and its Service Worker from dist/swarmcast.mjs', async () => {
    execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'pipe' });
    const dir = await scratchDir('swarmcast-built-');
    cleanup.push(dir.remove);
    let out = '';
    child = spawn(
      process.execPath,
      [join(root, 'dist', 'swarmcast.mjs'), 'up', '--port', '0', '--data', dir.path],
      {
        cwd: dir.path,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout?.on('data', (d) => {
      out += String(d);
    });
    const url = (await waitFor(
      () => {
        if (child?.exitCode !== null) throw new Error(`the built node exited: ${out}`);
        return /Swarmcast node up at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
      },
      90_000,
      'the built node to start',
      200,
    )) as string;
    const home = await fetch(url);
    expect(home.status).toBe(200);
    for (const asset of ['assets/player.js', 'assets/player-sw.js']) {
      const r = await fetch(new URL(asset, url));
      const body = await r.text();
      expect(r.status, `${asset}: ${body.slice(0, 200)}`).toBe(200);
      expect(r.headers.get('content-type')).toContain('javascript');
      expect(body.length).toBeGreaterThan(1000);
    }
  }, 120_000);
});

describe('the built CLI (swarmcast create)', () => {
  it('hashes with the worker bundled at build time (dist/hash-worker.cjs), never esbuild at run time', async () => {
    execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'pipe' });
    expect(existsSync(join(root, 'dist', 'hash-worker.cjs'))).toBe(true);
    const dir = await scratchDir('swarmcast-built-create-');
    try {
      // 40 MiB in 64 KiB pieces: three 16 MiB chunks, so the pool starts a worker thread
      const file = join(dir.path, 'payload.bin');
      await writeFile(file, randomBytes(40 * 1024 * 1024));
      const r = spawnSync(
        process.execPath,
        [
          join(root, 'dist', 'swarmcast.mjs'),
          'create',
          file,
          '-o',
          join(dir.path, 'p.torrent'),
          '--piece-length',
          '64K',
          '--json',
        ],
        // an esbuild started anyway would say it ignores this (and still work)
        { encoding: 'utf8', env: { ...process.env, ESBUILD_BINARY_PATH: join(dir.path, 'no-esbuild') } },
      );
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/esbuild/);
      const made = await createTorrent(file, { version: 'v1', pieceLength: 65536 });
      if (!made.ok) throw new Error(made.error.message);
      expect(JSON.parse(r.stdout).infoHashV1).toBe(Buffer.from(made.value.infoHash.v1!).toString('hex'));
    } finally {
      await dir.remove();
    }
  }, 120_000);
});

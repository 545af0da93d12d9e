import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { freePort, requireBinaries, scratchDir } from '@swarmcast/testkit';
import bencode from 'bencode';
import { afterAll, describe, expect, it } from 'vitest';
import { type RunningTracker, runStandaloneTracker } from '../src/standalone.ts';
import { announceQuery, peerId } from './helpers/announce.ts';

/**
 * Fault injection: the tracker's Redis is killed and started again (a redis-server this test
 * owns, on its own port) under announce load. The tracker process lives, every announce
 * gets an answer (queued until Redis is back, or a BEP 3 failure; never a crash or a drop),
 * and it serves swarms again by itself once Redis is back.
 */
const binaries = requireBinaries('Redis restart under announce load', 'redis-server');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += String(d);
      if (out.includes('Ready to accept connections')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
  });
}

describe.skipIf(binaries.skip)('fault: Redis restarts under announce load', () => {
  it('the tracker lives, answers every announce across the outage, and recovers', async () => {
    const dir = await scratchDir('faults-redis-');
    const port = await freePort();
    let redis = await startRedis(port, dir.path);
    let tracker: RunningTracker | undefined;
    try {
      tracker = await runStandaloneTracker({
        port: 0,
        host: '127.0.0.1',
        rateLimit: null,
        redisUrl: `redis://127.0.0.1:${port}`,
        redisPrefix: `faults-${process.pid}:`,
      });
      const hash = randomBytes(20);
      const counts = { ok: 0, failure: 0, error: 0, sent: 0 };
      let stop = false;
      const announceOnce = async (i: number) => {
        counts.sent++;
        const q = announceQuery({
          infoHash: hash,
          left: i % 2,
          port: 10_000 + (i % 500),
          peerId: peerId(`-XX${i}-`),
        });
        const res = await fetch(`http://127.0.0.1:${tracker!.port}/announce?${q}`, {
          signal: AbortSignal.timeout(15_000),
        }).catch(() => null);
        if (!res) {
          counts.error++;
          return;
        }
        const body = bencode.decode(new Uint8Array(await res.arrayBuffer())) as Record<string, unknown>;
        if (body['failure reason'] !== undefined) counts.failure++;
        else counts.ok++;
      };
      const load = (async () => {
        for (let i = 0; !stop && i < 20_000; i++) await announceOnce(i);
      })();
      const until = async (check: () => boolean, what: string) => {
        const deadline = Date.now() + 60_000;
        while (!check()) {
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      await until(() => counts.ok >= 20, 'announces before the outage');
      redis.kill('SIGKILL');
      await new Promise((r) => redis.once('exit', r));
      // The outage lasts two seconds (its length is the fault, not a wait for an event);
      // announces meanwhile are queued by the Redis client or fail with a failure reason.
      const sentAtKill = counts.sent;
      const outage = new Promise((r) => setTimeout(r, 2000));
      // The routes that read the whole store answer 503 with the code: no hang, no 500.
      const base = `http://127.0.0.1:${tracker.port}`;
      const [stats, metrics] = await Promise.all([
        fetch(`${base}/stats`, { signal: AbortSignal.timeout(30_000) }),
        fetch(`${base}/metrics`, { signal: AbortSignal.timeout(30_000) }),
      ]);
      expect(stats.status).toBe(503);
      expect(((await stats.json()) as { error: { code: string } }).error.code).toBe('TRK_STORE_UNAVAILABLE');
      expect(metrics.status).toBe(503);
      expect(await metrics.text()).toMatch(/^TRK_STORE_UNAVAILABLE /);
      await outage;
      redis = await startRedis(port, dir.path);
      const okBefore = counts.ok;
      await until(() => counts.ok >= okBefore + 20, 'announces served again');
      stop = true;
      await load;
      expect((await fetch(`${base}/stats`)).status).toBe(200);
      expect((await fetch(`${base}/metrics`)).status).toBe(200);
      console.log(
        `[fault redis-restart] announces sent ${counts.sent}: served ${counts.ok}, failed cleanly ${counts.failure}, unanswered ${counts.error}; tracker alive, recovered by itself; /stats and /metrics answered 503 TRK_STORE_UNAVAILABLE during the outage, 200 after`,
      );
      expect(counts.error).toBe(0);
      expect(counts.sent).toBeGreaterThan(sentAtKill);
    } finally {
      await tracker?.close().catch(() => {});
      redis.kill('SIGKILL');
      await dir.remove();
    }
  }, 180_000);
});

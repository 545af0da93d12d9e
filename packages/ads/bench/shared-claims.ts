/**
 * What the shared counters (shared-delivery.ts, REDIS_URL) and recording each claim in
 * PostgreSQL (`ads_claims`, shared-claims.ts) cost an ad decision: decideBreak in process
 * (`local`, the reference) and decideBreakShared on the real Redis without (`without`) and with
 * (`with`) the claims log, in interleaved rounds of one run (`--only=local,with` to pick).
 * Prints per decision: this process's CPU, the PostgreSQL backend's CPU (one pooled
 * connection) and Redis's (both read from /proc), and wall time; then the medians and the
 * ratios to the in-process decision. Requests come `--batch=N` at once (default 8), as one event-loop turn
 * of the HTTP route.
 * usage: shared-claims.ts [decisions per round (2000)] [round pairs (3)] [--batch=N]
 *   [--only=local,with] [--before=path/to/older/shared-delivery.ts (inside packages/ads/src)]
 * Needs the PostgreSQL and Redis of the tests (testkit's service URLs).
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { migrate, openDb } from '@swarmcast/platform';
import { cpuSeconds, scratchPostgres, serviceUrl } from '@swarmcast/testkit';
import { Redis } from 'ioredis';
import { type DecideDeps, decideBreakShared } from '../src/decide.ts';
import {
  adsMigrations,
  BatchSigner,
  type ClaimLog,
  dbClaimLog,
  generateSigningKey,
  redisSharedDelivery,
} from '../src/index.ts';
import { benchDeps, buildStore, byId, requests } from './decide.bench.ts';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const batch = Number(process.argv.find((a) => a.startsWith('--batch='))?.slice(8) ?? 8);
const perRound = Number(args[0] ?? 2000);
const pairs = Number(args[1] ?? 3);

const scratch = await scratchPostgres('swarmcast_bench_claims');
const db = await openDb({ databaseUrl: scratch.url, poolSize: 1 });
await migrate(db, adsMigrations);
// The pooled connection's backend (asked each round: the pool closes an idle connection).
const backendPid = async () =>
  Number((await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
// utime + stime of a backend, in seconds (the test kit's cpuSeconds).
// Gone: the pool closed it, idle for 10 s (a round without the claims log asks nothing of it).
const backendCpu = (pid: number) => {
  try {
    return cpuSeconds(pid);
  } catch {
    return Number.NaN;
  }
};
const redis = new Redis(serviceUrl('redis'));
// Redis's own CPU (its process on this machine), as the backend's: work moved into a script is not free.
const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1] ?? 0);
const prefix = `sc-bench-claims-${randomBytes(4).toString('hex')}:`;
const key = generateSigningKey('bench');
const signer = new BatchSigner();
const queries = requests.map((r) => new URLSearchParams(r.path!.split('?')[1]));
let statements = 0;
const log = dbClaimLog({
  query: (sql, p) => {
    statements++;
    return db.query(sql, p);
  },
});
const calls = { record: 0, rows: 0, forget: 0, forgotten: 0 };
const counted: ClaimLog = {
  record: (c) => {
    calls.record++;
    calls.rows += c.length;
    return log.record(c);
  },
  forget: (ids) => {
    calls.forget++;
    calls.forgotten += ids.length;
    return log.forget(ids);
  },
};
// `--before=<module>`: a `redisSharedDelivery` of another version (e.g. main's file copied into
// src/), run with the claims log as `before`: before and after in one run.
const beforeArg = process.argv.find((a) => a.startsWith('--before='))?.slice(9);
const before = beforeArg
  ? ((await import(resolve(beforeArg))) as { redisSharedDelivery: typeof redisSharedDelivery })
  : null;
const variant = (
  claims: boolean | 'local',
  name: string,
  make: typeof redisSharedDelivery = redisSharedDelivery,
): DecideDeps => {
  const local = benchDeps(buildStore(), key);
  if (claims === 'local') return local;
  return {
    ...local,
    // Each its own counters: one version's change log is not the other's.
    shared: make(redis, `${prefix}${name}:`, {
      capHoldMs: 600_000,
      ...(claims ? { claims: counted } : {}),
    }),
  };
};
const variants = {
  local: variant('local', 'local'),
  without: variant(false, 'without'),
  with: variant(true, 'with'),
  ...(before ? { before: variant(true, 'before', before.redisSharedDelivery) } : {}),
} as Record<'local' | 'without' | 'with' | 'before', DecideDeps>;
for (const v of Object.values(variants)) await v.shared?.ready(Date.now());

// Microseconds of a process's CPU per decision of a round since `cpu0` (0: it is gone).
const cpuPerDecisionUs = (pid: number, cpu0: number) => {
  const s = backendCpu(pid) - cpu0;
  return Number.isNaN(s) ? 0 : (s * 1e6) / perRound;
};

async function round(deps: DecideDeps) {
  const pid = await backendPid();
  const cpu0 = process.cpuUsage();
  const pg0 = backendCpu(pid);
  const redis0 = backendCpu(redisPid);
  const t0 = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < perRound; i++) {
    const q = queries[i % queries.length]!;
    pending.push(
      decideBreakShared(
        deps,
        {
          episode: byId.get(q.get('episode')!)!,
          breakId: q.get('break')!,
          listenerId: q.get('lid'),
          country: 'DE',
          device: 'phone',
          now: Date.now(),
        },
        signer.sign,
      ),
    );
    if ((i + 1) % batch === 0 || i === perRound - 1) await Promise.all(pending.splice(0));
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    cpu: (cpu.user + cpu.system) / perRound,
    pg: cpuPerDecisionUs(pid, pg0),
    redis: cpuPerDecisionUs(redisPid, redis0),
    wall: ((performance.now() - t0) * 1000) / perRound,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
type Name = keyof typeof variants;
const seen: Record<Name, Array<Awaited<ReturnType<typeof round>>>> = {
  local: [],
  without: [],
  with: [],
  before: [],
};
const names = (process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',') ?? ['local', 'without', 'with', ...(before ? ['before'] : [])]) as Name[];
for (const name of names) await round(variants[name]); // warm-up
for (let p = 0; p < pairs; p++) {
  for (const name of p % 2 === 0 ? names : [...names].reverse()) {
    const r = await round(variants[name]);
    seen[name].push(r);
    console.log(
      `${name.padEnd(7)}${name === 'local' ? ' (in process)' : name === 'before' ? ' (--before, claims log)' : ' claims log'}: ${r.cpu.toFixed(1)} us CPU, ${r.pg.toFixed(1)} us PostgreSQL CPU, ${r.redis.toFixed(1)} us Redis CPU, ${r.wall.toFixed(1)} us wall per decision (batches of ${batch}), load ${loadavg()[0]!.toFixed(2)}`,
    );
  }
}
const m = (name: Name, f: 'cpu' | 'pg' | 'redis' | 'wall') => median(seen[name].map((r) => r[f]));
for (const f of ['cpu', 'pg', 'redis', 'wall'] as const) {
  console.log(
    `median ${f}: ${names.map((x) => `${x} ${m(x, f).toFixed(1)} us`).join(', ')}` +
      (names.includes('local') && m('local', f) > 0
        ? `; shared/in-process ${names
            .filter((x) => x !== 'local')
            .map((x) => `${x} ${(m(x, f) / m('local', f)).toFixed(2)}x`)
            .join(', ')}`
        : ''),
  );
}
console.log(`claims log calls: ${JSON.stringify(calls)}, ${statements} statements`);
console.log(
  `claims rows: ${(await db.query<{ n: number }>('SELECT count(*)::int AS n FROM ads_claims')).rows[0]!.n}`,
);
const keys = await redis.keys(`${prefix}*`);
if (keys.length > 0) await redis.del(...keys);
await redis.quit();
await db.close();
await scratch.drop();

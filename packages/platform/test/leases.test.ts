import { requireServices, scratchDir, scratchPostgres } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  claimLeases,
  type Db,
  leaseHolders,
  leaseMigrations,
  migrate,
  openDb,
  releaseLeases,
} from '../src/index.ts';

/**
 * Leases (issue 19: exactly one seeder per torrent among processes): on PGlite, and on the
 * real PostgreSQL with two connections racing for the same names, as two processes would.
 */
const pgPrereq = await requireServices('leases on PostgreSQL', 'postgres');

describe('leases on PGlite', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let db: Db;
  beforeAll(async () => {
    dir = await scratchDir('swarmcast-leases-');
    db = await openDb({ dataDir: dir.path });
    await migrate(db, leaseMigrations);
  });
  afterAll(async () => {
    await db?.close();
    await dir?.remove();
  });

  it('claims free names, renews its own, leaves live ones alone, takes expired ones over', async () => {
    const t0 = 1_000_000;
    expect([...(await claimLeases(db, 'a', ['x', 'y'], { now: t0, ttlMs: 100 }))].sort()).toEqual(['x', 'y']);
    // b asks for x and z while a's lease on x is live: only z.
    expect([...(await claimLeases(db, 'b', ['x', 'z'], { now: t0 + 50, ttlMs: 100 }))]).toEqual(['z']);
    // a renews x at t0+90: still a's at t0+150, when b asks again.
    expect([...(await claimLeases(db, 'a', ['x'], { now: t0 + 90, ttlMs: 100 }))]).toEqual(['x']);
    expect([...(await claimLeases(db, 'b', ['x'], { now: t0 + 150, ttlMs: 100 }))]).toEqual([]);
    // y was not renewed by a: expired at t0+100, b takes it at t0+101.
    expect([...(await claimLeases(db, 'b', ['y'], { now: t0 + 101, ttlMs: 100 }))]).toEqual(['y']);
    const holders = await leaseHolders(db, ['x', 'y', 'z'], t0 + 150);
    expect(Object.fromEntries(holders)).toEqual({ x: 'a', y: 'b', z: 'b' });
    // Release hands over at once; releasing another's lease does nothing.
    await releaseLeases(db, 'a', ['x', 'z']);
    expect(Object.fromEntries(await leaseHolders(db, ['x', 'z'], t0 + 150))).toEqual({ z: 'b' });
    expect([...(await claimLeases(db, 'b', ['x'], { now: t0 + 150, ttlMs: 100 }))]).toEqual(['x']);
  });
});

describe.skipIf(pgPrereq.skip)('leases on PostgreSQL, two connections racing', () => {
  let scratch: Awaited<ReturnType<typeof scratchPostgres>>;
  let one: Db;
  let two: Db;
  beforeAll(async () => {
    scratch = await scratchPostgres('swarmcast_leases');
    one = await openDb({ databaseUrl: scratch.url });
    two = await openDb({ databaseUrl: scratch.url });
    await migrate(one, leaseMigrations);
  });
  afterAll(async () => {
    await one?.close();
    await two?.close();
    await scratch?.drop();
  });

  it('gives every name to exactly one holder, however the claims interleave', async () => {
    const names = Array.from({ length: 1_200 }, (_, i) => `seed:${i}`);
    const now = Date.now();
    for (let round = 0; round < 5; round++) {
      const at = now + round * 1_000_000; // every earlier lease has expired
      const [a, b] = await Promise.all([
        claimLeases(one, `a${round}`, names, { now: at, ttlMs: 500_000 }),
        claimLeases(two, `b${round}`, [...names].reverse(), { now: at, ttlMs: 500_000 }),
      ]);
      expect(a.size + b.size).toBe(names.length);
      for (const n of a) expect(b.has(n)).toBe(false);
      const holders = await leaseHolders(one, names, at);
      for (const n of names) expect(holders.get(n)).toBe(a.has(n) ? `a${round}` : `b${round}`);
    }
  });
});

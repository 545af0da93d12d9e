/**
 * CPU per event through the measurement pipeline (processBatch on an in-memory PGlite), with
 * beacons as players send them: many decisions (one pod each), each with impression, start,
 * quartiles and complete, so decisions are locked, read and written and impressions are
 * posted to the ledger (the beacons bench sends one token for every event, which hides
 * that per-decision work). Batches of 100 (the node's consumer default) and 500, in turns.
 * usage: node --import tsx packages/measure/bench/pipeline-path.ts [events per run (3000)] [rounds (2)]
 * The machine is shared: CPU per event says more than events/s; the load is printed.
 */
import { loadavg } from 'node:os';
import { generateSigningKey, signPod } from '@swarmcast/ads';
import { ledgerMigrations } from '@swarmcast/ledger';
import { type AudienceKey, migrate, openDb, type StreamEvent } from '@swarmcast/platform';
import { measureMigrations } from '../src/pipeline/migrations.ts';
import { processBatch } from '../src/pipeline/process-batch.ts';

const perRun = Number(process.argv[2] ?? 3000);
const rounds = Number(process.argv[3] ?? 2);
const key = generateSigningKey('bench');
const publicKeys = new Map([[key.keyId, key.publicKey]]);
const base = {
  adId: 'ad',
  lineItemId: 'li',
  campaignId: 'camp',
  advertiserId: 'adv',
  episodeId: 'ep',
  showId: 'show',
  creatorId: 'creator',
  breakId: 'pre',
  position: 'pre' as const,
  podSequence: 1,
  creativeDurationMs: 30_000,
  cpmMicros: 20_000_000,
  issuedAt: 0,
  expiresAt: 8.64e15,
};
const sequence = ['impression', 'start', 'firstQuartile', 'midpoint', 'thirdQuartile', 'complete'] as const;
let seq = 0;

function events(n: number): StreamEvent[] {
  const out: StreamEvent[] = [];
  const t0 = Date.now();
  for (let d = 0; out.length < n; d++) {
    const [token] = signPod([{ ...base, decisionId: `d-${seq}-${d}`, listenerId: `l-${d % 500}` }], key);
    sequence.forEach((event, k) => {
      const id = `e-${seq++}`;
      out.push({
        id,
        subject: 'beacon.ad',
        data: {
          kind: 'ad',
          id,
          receivedAt: t0 + k * 8000,
          event,
          token,
          ts: null,
          adPlayheadMs: null,
          offsetMs: null,
          errorCode: null,
          audienceKey: `k${d % 300}`.padEnd(64, 'a') as AudienceKey,
          client: { app: 'Bench', device: 'computer', os: 'Linux', bot: false },
          datacenter: false,
        },
      });
    });
  }
  return out.slice(0, n);
}

const db = await openDb({ inMemory: true });
await migrate(db, [...ledgerMigrations, ...measureMigrations]);
for (let round = 0; round < rounds; round++) {
  for (const size of [100, 500]) {
    const evs = events(perRun);
    const cpu = process.cpuUsage();
    const started = Date.now();
    for (let i = 0; i < evs.length; i += size) {
      await db.transaction((tx) =>
        processBatch(tx, evs.slice(i, i + size), { publicKeys: () => publicKeys }),
      );
    }
    const used = process.cpuUsage(cpu);
    console.log(
      `round ${round + 1}, batch ${size}: ${(evs.length / ((Date.now() - started) / 1000)).toFixed(0)} events/s, ${((used.user + used.system) / evs.length).toFixed(0)} us CPU/event; load ${loadavg()[0]!.toFixed(2)}`,
    );
  }
}
await db.close();

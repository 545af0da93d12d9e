/**
 * In-process cost of one UDP announce through answerUdp (decode, core, store, encode), with
 * and without the announce-fact publisher on the embedded stream, interleaved rounds.
 * Profile with: node --cpu-prof --import tsx packages/tracker/bench/load/path.ts
 * usage: path.ts [announces per round] [rounds]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  clientFamilyFromPeerId,
  createAudienceKeys,
  memorySaltStore,
  openEventStream,
} from '@swarmcast/platform';
import { AnnounceFactPublisher } from '../../src/facts/announce-facts.ts';
import { answerUdp } from '../../src/server/udp-server.ts';
import { Tracker } from '../../src/tracker.ts';

const n = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 3);
const rinfo = { address: '127.0.0.1', port: 40000 };

function packets(tracker: Tracker, count: number): Buffer[] {
  const cid = tracker.connectionIds.issue('127.0.0.1', rinfo.port, tracker.clock.now());
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const b = Buffer.alloc(98);
    b.set(cid, 0);
    b.writeUInt32BE(1, 8);
    b.writeUInt32BE(i, 12);
    b.writeUInt32BE(i % 1000, 16);
    b.fill(0x5a, 20, 36);
    b.write('-qB4520-', 36, 'latin1');
    b.writeUInt32BE((Math.random() * 2 ** 32) >>> 0, 52);
    b.writeBigUInt64BE(1000n, 64);
    b.writeUInt32BE(2, 80);
    b.writeInt32BE(-1, 92);
    b.writeUInt16BE(1024 + (i % 60000), 96);
    out.push(b);
  }
  return out;
}

async function round(withFacts: boolean): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'trk-path-'));
  const stream = await openEventStream({ dataDir: dir });
  const keys = createAudienceKeys(memorySaltStore());
  const facts = withFacts
    ? new AnnounceFactPublisher({
        stream,
        audienceKey: (ip, ua, now) => keys.audienceKey(ip, ua, now),
        clientFamily: (id) => clientFamilyFromPeerId(id),
        isDatacenter: () => false,
      })
    : null;
  const tracker = new Tracker({ rateLimit: null, observer: facts });
  facts?.start();
  const ps = packets(tracker, n);
  const cpu0 = process.cpuUsage();
  // 128 in flight as the UDP bench: each answer awaited in groups, facts flushed as they go.
  for (let i = 0; i < n; i += 128) {
    // As the server does: only answers that are not ready at once are awaited.
    const later: Promise<unknown>[] = [];
    for (const p of ps.slice(i, i + 128)) {
      const reply = answerUdp(tracker, p, rinfo);
      if (reply instanceof Promise) later.push(reply);
    }
    if (later.length > 0) await Promise.all(later);
    if ((i & 4095) === 0) await new Promise((r) => setImmediate(r));
  }
  await facts?.close();
  const cpu = process.cpuUsage(cpu0);
  await tracker.close();
  await stream.close();
  await rm(dir, { recursive: true, force: true });
  if (process.env.SPLIT)
    console.log(withFacts, 'user', (cpu.user / n).toFixed(1), 'sys', (cpu.system / n).toFixed(1));
  return (cpu.user + cpu.system) / n;
}

const res: Record<string, number[]> = { plain: [], facts: [] };
for (let r = 0; r < rounds; r++) {
  if (!process.env.FACTS_ONLY) res.plain!.push(await round(false));
  res.facts!.push(await round(true));
}
// FACTS_ONLY runs no plain round: its median is printed as "-".
const med = (xs: number[]) =>
  xs.length === 0 ? '-' : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(2);
console.log(
  `udp announce in process, ${n} x ${rounds}: plain ${med(res.plain!)} us, with facts ${med(res.facts!)} us (cpu per announce, medians), load ${loadavg()[0]!.toFixed(2)}`,
);

/**
 * In-process cost of the announce-fact path alone: observations of UDP announces (random
 * peer ids of a few client families, 1000 torrents, one address) through
 * AnnounceFactPublisher onto the embedded stream, as CPU microseconds per fact (medians).
 * usage: facts.ts [facts per round] [rounds]
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
import type { AnnounceObservation } from '../../src/core/tracker-core.ts';
import { AnnounceFactPublisher } from '../../src/facts/announce-facts.ts';
import type { AnnounceRequest, InfoHash } from '../../src/types.ts';

const n = Number(process.argv[2] ?? 200_000);
const rounds = Number(process.argv[3] ?? 5);
const prefixes = ['-qB4520-', '-TR3000-', 'A2-1-37-0-', '-UT3550-', 'M7-4-0--'];

function observations(count: number): AnnounceObservation[] {
  const out: AnnounceObservation[] = [];
  const now = Date.now();
  for (let i = 0; i < count; i++) {
    const peerId = new Uint8Array(20);
    const p = prefixes[i % prefixes.length]!;
    for (let k = 0; k < 20; k++) peerId[k] = k < p.length ? p.charCodeAt(k) : (Math.random() * 256) | 0;
    const request: AnnounceRequest = {
      type: 'announce',
      transport: 'udp',
      infoHash: `${(i % 1000).toString(16).padStart(8, '0')}${'5a'.repeat(16)}` as InfoHash,
      peerId,
      ip: '127.0.0.1',
      port: 1024 + (i % 60000),
      uploaded: 0,
      downloaded: 0,
      left: 1000,
      event: 'started',
      numwant: 50,
      compact: true,
      noPeerId: true,
      passkey: null,
      key: null,
      userAgent: null,
    };
    out.push({ time: now + i, request, uploadedDelta: 0, downloadedDelta: 0 });
  }
  return out;
}

async function round(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'trk-facts-'));
  const stream = await openEventStream({ dataDir: dir });
  const keys = createAudienceKeys(memorySaltStore());
  const facts = new AnnounceFactPublisher({
    stream,
    audienceKey: (ip, ua, now) => keys.audienceKey(ip, ua, now),
    // As `swarmcast tracker` builds it (open-facts.ts).
    clientFamily: clientFamilyFromPeerId,
    isDatacenter: () => false,
  });
  facts.start();
  const os = observations(n);
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i += 128) {
    for (let j = i; j < Math.min(n, i + 128); j++) facts.observe(os[j]!);
    // Bounded backlog, as a tracker under steady load: wait for the stream now and then.
    if (i % 8192 === 0) await facts.flush();
    else await new Promise((r) => setImmediate(r));
  }
  await facts.close();
  const cpu = process.cpuUsage(cpu0);
  await stream.close();
  await rm(dir, { recursive: true, force: true });
  if (facts.counts.published !== n) throw new Error(`published ${facts.counts.published} of ${n}`);
  return (cpu.user + cpu.system) / n;
}

const res: number[] = [];
for (let r = 0; r < rounds; r++) res.push(await round());
const med = [...res].sort((a, b) => a - b)[Math.floor(res.length / 2)]!;
console.log(
  `announce facts in process, ${n} x ${rounds}: ${med.toFixed(2)} us cpu per fact (median; rounds ${res.map((x) => x.toFixed(2)).join(' ')}), load ${loadavg()[0]!.toFixed(2)}`,
);

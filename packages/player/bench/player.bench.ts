/**
 * `npm run bench player`: the peer-to-peer player in real Chromium against a loopback node
 * (test/p2p-fixture.ts: origin with ranges, WebSocket tracker on the same port, no node-side
 * seeder), same machine, same media, one run.
 *
 * 1. Start-up: time from navigation to the first video frame (H.264/AAC MP4) and to the first
 *    audio (`playing` of an MP3), the P2P player vs the same player on the plain origin URL.
 *    P2P is measured cold (a new browser context: Service Worker registration included) and
 *    warm (the page reloaded in that context), with one listener already in the swarm.
 * 2. Offload: N pages (2, 5, 10) play the MP3 episode; page 1 first (alone: everything from
 *    the web seed), then the rest together. Share of all bytes the engines received that came
 *    from peers, against the ceiling 1 - 1/N (one copy has to come from the origin), also
 *    checked against the bytes the origin actually sent.
 * 3. Across NATs (bench/across-nat.ts): N listeners in separate home namespaces (one Chromium
 *    each) behind cone and symmetric NATs, offload vs 1 - 1/N and time to the first peer
 *    byte; needs root, ip, nft, coturn (skips with the reason otherwise). `BENCH_NAT` lists
 *    the homes' NAT kinds (default 5: port-restricted, full-cone, port-restricted,
 *    symmetric, full-cone), `BENCH_NAT_ROUNDS` (default 2); `BENCH_STARTUP=0` skips 1.
 * Prints medians and ratios; bounded in rounds and time. Goal (issue 7): first frame within
 * 1.2x of plain HTTP; offload within 10 points of the ceiling.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { NatKind } from '@swarmcast/testkit';
import { chromiumLaunchOptions, scratchDir, waitFor, which } from '@swarmcast/testkit';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { type P2pFixture, startP2pFixture } from '../test/p2p-fixture.ts';
import { acrossNat } from './across-nat.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const offloadRounds = Number(process.env.BENCH_OFFLOAD_ROUNDS ?? 2);
const peerCounts = (process.env.BENCH_PEERS ?? '2,5,10')
  .split(',')
  .map(Number)
  .filter((n) => n >= 2);
const natKinds = (process.env.BENCH_NAT ?? 'port-restricted,full-cone,port-restricted,symmetric,full-cone')
  .split(',')
  .filter((k): k is NatKind => ['full-cone', 'port-restricted', 'symmetric'].includes(k));
const natRounds = Number(process.env.BENCH_NAT_ROUNDS ?? 2);
const startupOn = process.env.BENCH_STARTUP !== '0';
// The origin's start-up hold on marked reads (bittorrent/media-window.ts): 'on' (as the node
// runs), 'off' (as before it), or 'both' to print the two side by side in one run.
const holds = ({ on: [true], off: [false], both: [true, false] } as const)[
  (process.env.BENCH_HOLD ?? 'on') as 'on' | 'off' | 'both'
] ?? [true];
const deadline = Date.now() + Number(process.env.BENCH_MAX_MS ?? 15 * 60_000);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? Number.NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]!
      : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

function ffmpeg(args: string[]): void {
  const r = spawnSync('ffmpeg', ['-v', 'error', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr}`);
}

interface Marks {
  playing?: number;
  frame?: number;
  ready?: number;
}
async function startUp(ctx: BrowserContext, url: string, page?: Page): Promise<{ page: Page; marks: Marks }> {
  const p = page ?? (await ctx.newPage());
  if (page) await p.reload();
  else await p.goto(url);
  const marks = (await waitFor(
    async (): Promise<Marks | null> => {
      const m = (await p.evaluate(() => (window as unknown as { marks: Marks }).marks)) ?? {};
      return m.playing !== undefined && (m.frame !== undefined || !url.includes('kind=video')) ? m : null;
    },
    60_000,
    'playback to start',
    20,
  )) as Marks;
  return { page: p, marks };
}

interface EngineStats {
  peers: number;
  bytesFromPeers: number;
  bytesFromWebSeed: number;
  complete: boolean;
}
const statsOf = (page: Page) =>
  page.evaluate(async () => {
    const w = window as unknown as { player: { p2p: Promise<{ engine: { stats(): EngineStats } } | null> } };
    const pb = await w.player.p2p;
    return pb ? pb.engine.stats() : null;
  });

async function main() {
  if (!which('chromium') || !which('ffmpeg')) {
    console.log('player bench skipped: needs chromium and ffmpeg');
    return;
  }
  const dir = await scratchDir('swarmcast-player-bench-');
  const video = join(dir.path, 'episode.mp4');
  const audio = join(dir.path, 'episode.mp3');
  // 60 s of 640x360 H.264 (~1 Mbit/s) + AAC, fast start; 120 s of 128 kbit/s MP3.
  ffmpeg([
    ...[
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=640x360:rate=25:duration=60',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:duration=60',
    ],
    ...[
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-b:v',
      '1000k',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      '-b:a',
      '96k',
    ],
    ...['-movflags', '+faststart', '-shortest', video],
  ]);
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=330:duration=120',
    '-c:a',
    'libmp3lame',
    '-b:a',
    '128k',
    audio,
  ]);
  const o = chromiumLaunchOptions(join(dir.path, 'home'));
  const browser: Browser = await chromium.launch({
    ...o,
    args: [...o.args, '--disable-features=WebRtcHideLocalIpsWithMdns'],
  });
  const out: Record<string, unknown> = { loadBefore: load() };
  try {
    // 1. Start-up.
    const startup: Record<string, { plain: number[]; cold: number[]; warm: number[]; coldReady: number[] }> =
      {};
    for (const [kind, path, type, durationMs] of startupOn
      ? ([
          ['video', video, 'video/mp4', 60_000],
          ['audio', audio, 'audio/mpeg', 120_000],
        ] as const)
      : []) {
      const fx: P2pFixture = await startP2pFixture({ mediaPath: path, type, kind, durationMs });
      const t = {
        plain: [] as number[],
        cold: [] as number[],
        warm: [] as number[],
        coldReady: [] as number[],
      };
      startup[kind] = t;
      const pick = (m: Marks) => (kind === 'video' ? (m.frame ?? Number.NaN) : (m.playing ?? Number.NaN));
      const tag = (u: string) => `${u}&kind=${kind}`;
      // One listener already in the swarm, as on a node with an audience.
      const seederCtx = await browser.newContext();
      const seeder = await seederCtx.newPage();
      await seeder.goto(tag(fx.pageUrl({ autoplay: true })));
      await waitFor(async () => (await statsOf(seeder))?.complete === true, 120_000, 'the first listener');
      for (let r = 0; r < rounds && Date.now() < deadline; r++) {
        const plainRun = async () => {
          const plainCtx = await browser.newContext();
          t.plain.push(
            pick((await startUp(plainCtx, tag(fx.pageUrl({ plain: true, autoplay: true })))).marks),
          );
          await plainCtx.close();
        };
        // Alternate which goes first, so neither always meets a warmer (or busier) machine.
        if (r % 2 === 0) await plainRun();
        const ctx = await browser.newContext();
        const cold = await startUp(ctx, tag(fx.pageUrl({ autoplay: true })));
        t.cold.push(pick(cold.marks));
        // The engine starts after the first frame now: wait for it before the warm visit.
        const ready = await waitFor(
          () => cold.page.evaluate(() => (window as unknown as { marks: Marks }).marks.ready ?? null),
          60_000,
          'the engine',
          20,
        );
        t.coldReady.push(ready ?? Number.NaN);
        t.warm.push(pick((await startUp(ctx, tag(fx.pageUrl({ autoplay: true })), cold.page)).marks));
        await ctx.close();
        if (r % 2 === 1) await plainRun();
      }
      await seederCtx.close();
      await fx.close();
      const [p, c, w] = [median(t.plain), median(t.cold), median(t.warm)];
      console.log(
        `first ${kind === 'video' ? 'frame' : 'audio'} (${kind}, ${t.plain.length} rounds, medians): plain HTTP ${p.toFixed(0)} ms · P2P cold ${c.toFixed(0)} ms (${(c / p).toFixed(2)}x) · P2P warm ${w.toFixed(0)} ms (${(w / p).toFixed(2)}x) · cold: engine and Service Worker ready (after the first frame) at ${median(t.coldReady).toFixed(0)} ms · load ${load()}`,
      );
    }
    out.startup = startup;

    // 2. Offload with N listeners.
    const offload: Record<string, { share: number[]; originShare: number[] }> = {};
    for (const n of peerCounts)
      for (const startupHold of holds) {
        const res = { share: [] as number[], originShare: [] as number[] };
        offload[`${n}${startupHold ? '' : ' no-hold'}`] = res;
        for (let r = 0; r < offloadRounds && Date.now() < deadline; r++) {
          const fx = await startP2pFixture({
            mediaPath: audio,
            type: 'audio/mpeg',
            kind: 'audio',
            durationMs: 120_000,
            startupHold,
          });
          const ctxs: BrowserContext[] = [];
          const pages: Page[] = [];
          const open = async () => {
            const ctx = await browser.newContext();
            ctxs.push(ctx);
            const page = await ctx.newPage();
            await page.goto(fx.pageUrl({ autoplay: true }));
            pages.push(page);
            return page;
          };
          const first = await open();
          await waitFor(async () => (await statsOf(first))?.complete === true, 120_000, 'listener 1');
          await Promise.all(Array.from({ length: n - 1 }, open));
          try {
            await waitFor(
              async () => (await Promise.all(pages.map(statsOf))).every((s) => s?.complete),
              180_000,
              `${n} listeners to hold the episode`,
              250,
            );
          } catch (err) {
            console.log(`offload N=${n}: ${(err as Error).message}; counting what arrived`);
          }
          const stats = (await Promise.all(pages.map(statsOf))).filter((s): s is EngineStats => s !== null);
          const fromPeers = stats.reduce((a, s) => a + s.bytesFromPeers, 0);
          const fromSeed = stats.reduce((a, s) => a + s.bytesFromWebSeed, 0);
          res.share.push(fromPeers / (fromPeers + fromSeed));
          res.originShare.push(1 - fx.originBytes() / (n * fx.media.length));
          for (const c of ctxs) await c.close();
          await fx.close();
        }
        const ceiling = 1 - 1 / n;
        const m = median(res.share);
        const o = median(res.originShare);
        console.log(
          `offload N=${n}${startupHold ? '' : ' (origin without start-up hold)'} (${res.share.length} rounds, median): ${(100 * m).toFixed(1)}% of bytes from peers (engines), ${(100 * o).toFixed(1)}% not sent by the origin · ceiling ${(100 * ceiling).toFixed(1)}% · gap ${(100 * (ceiling - m)).toFixed(1)} points (engines), ${(100 * (ceiling - o)).toFixed(1)} points (origin) · load ${load()}`,
        );
      }
    out.offload = offload;

    // 3. Across NATs: listeners in separate home namespaces, STUN and TURN from the lab's coturn.
    if (natKinds.length >= 2 && Date.now() < deadline) {
      // 10 min of 128 kbit/s MP3 (~9.6 MB): an episode-sized file, so the first seconds each
      // element reads from the origin before its engine runs are a small part of it.
      const long = join(dir.path, 'long.mp3');
      ffmpeg([
        '-f',
        'lavfi',
        '-i',
        'sine=frequency=262:duration=600',
        '-c:a',
        'libmp3lame',
        '-b:a',
        '128k',
        long,
      ]);
      for (const startupHold of holds) {
        const nat = await acrossNat({
          mediaPath: long,
          durationMs: 600_000,
          kinds: natKinds,
          rounds: natRounds,
          dir: join(dir.path, `nat${startupHold ? '' : '-no-hold'}`),
          deadline,
          startupHold,
        });
        if (nat) {
          const n = natKinds.length;
          const ceiling = 1 - 1 / n;
          const m = median(nat.share);
          const o = median(nat.originShare);
          console.log(
            `across NAT${startupHold ? '' : ' (origin without start-up hold)'}, ${n} listeners in separate homes (${natKinds.join(', ')}), ${nat.share.length} rounds, median: ${(100 * m).toFixed(1)}% of bytes from peers (engines), ${(100 * o).toFixed(1)}% not sent by the origin · ceiling ${(100 * ceiling).toFixed(1)}% · gap ${(100 * (ceiling - m)).toFixed(1)} points (engines), ${(100 * (ceiling - o)).toFixed(1)} points (origin) · first peer byte ${median(nat.firstPeerByteMs).toFixed(0)} ms after navigation (${median(nat.firstPeerByteAfterEngineMs).toFixed(0)} ms after the engine started; ${nat.firstPeerByteMs.length} listeners) · ${nat.fellBack} listeners got nothing from peers · load ${load()}`,
          );
          out[startupHold ? 'acrossNat' : 'acrossNatNoHold'] = nat;
        }
      }
    }
  } finally {
    out.loadAfter = load();
    await browser.close();
    await dir.remove();
    const outDir = join(import.meta.dirname, '../../../bench/results');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'player-player.json'), `${JSON.stringify(out, null, 2)}\n`);
  }
}

await main();

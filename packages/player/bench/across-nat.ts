/**
 * The player bench's across-NAT case (issue 12): N listeners, each a real Chromium inside its
 * own home namespace behind its own NAT (testkit NatLab), play one episode from a node on the
 * lab's public side (test/p2p-fixture.ts: origin with windows, WebSocket tracker, `/p2p/ice`
 * with the lab's coturn as STUN and TURN, credentials minted per page by platform's
 * `iceServersFor`). Listener 1 plays alone first (everything from the origin), then the rest
 * together. Reports the share of bytes the engines got from peers and the share of all bytes
 * the origin did not send, against the ceiling 1 - 1/N, and the time from navigation (and
 * from the engine's start) to the first byte from a peer. Skips with a reason where the
 * machine cannot build the lab.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { iceServersFor, parseIceSettings } from '@swarmcast/platform';
import {
  chromiumLaunchOptions,
  createNatLab,
  type NatKind,
  natLabPrerequisite,
  startCoturn,
  waitFor,
  which,
} from '@swarmcast/testkit';
import { type Browser, chromium, type Page } from 'playwright-core';
import { startP2pFixture } from '../test/p2p-fixture.ts';

export interface AcrossNatResult {
  kinds: NatKind[];
  /** Per round: engines' share of bytes from peers. */
  share: number[];
  /** Per round: share of all bytes (N copies) the origin did not send. */
  originShare: number[];
  /** Listeners 2..N, ms from navigation to the first byte from a peer. */
  firstPeerByteMs: number[];
  /** The same, from the engine's start. */
  firstPeerByteAfterEngineMs: number[];
  /** Listeners that ended with no byte from peers (fell back to the web seed). */
  fellBack: number;
}

interface Marks {
  ready?: number;
  firstPeerByte?: number;
}
interface EngineStats {
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

export async function acrossNat(o: {
  mediaPath: string;
  durationMs: number;
  kinds: NatKind[];
  rounds: number;
  dir: string;
  deadline: number;
  /** The origin's start-up hold on marked reads (default on, as the node runs). */
  startupHold?: boolean;
}): Promise<AcrossNatResult | null> {
  const lab$ = natLabPrerequisite();
  if (lab$.skip || !which('turnserver') || !which('chromium')) {
    console.log(
      `across-NAT case skipped: ${lab$.skip ? lab$.reason : 'needs turnserver (coturn) and chromium'}`,
    );
    return null;
  }
  const secret = 'bench-nat-secret-0123456789';
  const res: AcrossNatResult = {
    kinds: o.kinds,
    share: [],
    originShare: [],
    firstPeerByteMs: [],
    firstPeerByteAfterEngineMs: [],
    fellBack: 0,
  };
  const lab = await createNatLab(o.kinds.map((nat) => ({ nat })));
  const browsers: Browser[] = [];
  let turn: Awaited<ReturnType<typeof startCoturn>> | null = null;
  try {
    turn = await startCoturn({
      listenIp: lab.serviceIp,
      port: 3478,
      secret,
      dir: o.dir,
      maxBps: 4_000_000,
      userQuota: 16,
      spawn: (c, a) => lab.spawnIn(lab.publicNs, c, a),
    });
    const ice = parseIceSettings(
      `stun:${lab.serviceIp}:3478,turn:${lab.serviceIp}:3478?transport=udp`,
      secret,
      '600',
    );
    let pageIds = 0;
    for (let r = 0; r < o.rounds && Date.now() < o.deadline; r++) {
      const fx = await startP2pFixture({
        mediaPath: o.mediaPath,
        type: 'audio/mpeg',
        kind: 'audio',
        durationMs: o.durationMs,
        host: lab.publicIp,
        iceServers: () => iceServersFor(ice, `page${++pageIds}`, Date.now(), null),
        startupHold: o.startupHold ?? true,
      });
      const pages: Page[] = [];
      try {
        const open = async (home: number) => {
          const at = join(o.dir, `chromium-${r}-${home}`);
          await mkdir(at, { recursive: true });
          const wrapper = join(at, 'chromium.sh');
          await writeFile(
            wrapper,
            `#!/bin/sh\nexec ip netns exec ${lab.homes[home]?.ns} /usr/bin/chromium "$@"\n`,
          );
          await chmod(wrapper, 0o755);
          const lo = chromiumLaunchOptions(at);
          const b = await chromium.launch({
            ...lo,
            executablePath: wrapper,
            // The node is plain HTTP on a lab address: let its Service Worker run as on HTTPS.
            args: [...lo.args, `--unsafely-treat-insecure-origin-as-secure=${fx.base}`],
          });
          browsers.push(b);
          const page = await b.newPage();
          await page.goto(fx.pageUrl({ autoplay: true }));
          pages.push(page);
          return page;
        };
        const first = await open(0);
        await waitFor(async () => (await statsOf(first))?.complete === true, 180_000, 'listener 1');
        await Promise.all(o.kinds.slice(1).map((_, i) => open(i + 1)));
        try {
          await waitFor(
            async () => (await Promise.all(pages.map(statsOf))).every((s) => s?.complete),
            300_000,
            `${o.kinds.length} listeners to hold the episode`,
            500,
          );
        } catch (err) {
          console.log(`across NAT: ${(err as Error).message}; counting what arrived`);
        }
        const stats = (await Promise.all(pages.map(statsOf))).filter((s): s is EngineStats => s !== null);
        const fromPeers = stats.reduce((a, s) => a + s.bytesFromPeers, 0);
        const fromSeed = stats.reduce((a, s) => a + s.bytesFromWebSeed, 0);
        res.share.push(fromPeers / (fromPeers + fromSeed));
        res.originShare.push(1 - fx.originBytes() / (o.kinds.length * fx.media.length));
        res.fellBack += stats.slice(1).filter((s) => s.bytesFromPeers === 0).length;
        for (const page of pages.slice(1)) {
          const m = (await page.evaluate(() => (window as unknown as { marks: Marks }).marks)) ?? {};
          if (m.firstPeerByte !== undefined) {
            res.firstPeerByteMs.push(m.firstPeerByte);
            if (m.ready !== undefined) res.firstPeerByteAfterEngineMs.push(m.firstPeerByte - m.ready);
          }
        }
      } finally {
        for (const b of browsers.splice(0)) await b.close().catch(() => undefined);
        await fx.close();
      }
    }
  } finally {
    for (const b of browsers) await b.close().catch(() => undefined);
    await turn?.close();
    await lab.close();
  }
  return res;
}

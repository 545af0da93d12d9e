import { spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parsePlayBeacon } from '@swarmcast/measure';
import { chromiumLaunchOptions, requireBinaries, scratchDir, waitFor } from '@swarmcast/testkit';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type P2pFixture, startP2pFixture } from './p2p-fixture.ts';

const prereq = requireBinaries('peer-to-peer player in Chromium', 'chromium', 'ffmpeg');
const shots = join(import.meta.dirname, '..', '..', '..', 'test-results', 'player-p2p');

interface Stats {
  peers: number;
  bytesFromPeers: number;
  bytesFromWebSeed: number;
  uploaded: number;
  complete: boolean;
}
const statsOf = (page: Page) =>
  page.evaluate(async () => {
    const w = window as unknown as { player: { p2p: Promise<{ engine: { stats(): Stats } } | null> } };
    const pb = await w.player.p2p;
    return pb ? pb.engine.stats() : null;
  });
const playing = (page: Page) =>
  page.evaluate(() => {
    const v = document.querySelector('.sc-content') as HTMLMediaElement;
    return { time: v.currentTime, src: v.currentSrc, error: v.error?.code ?? null };
  });

/** Opens the page in a fresh context (its own Service Worker registration, like another listener) and plays. */
async function openAndPlay(browser: Browser, url: string): Promise<Page> {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.log('pageerror', e.message));
  await page.goto(url);
  await waitFor(async () => (await statsOf(page)) !== null, 30_000, 'the engine to start');
  await page.evaluate(() => {
    const v = document.querySelector('.sc-content') as HTMLMediaElement;
    v.muted = true;
    void v.play();
  });
  return page;
}

describe.skipIf(prereq.skip)('peer-to-peer playback in Chromium', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let fx: P2pFixture;
  let browser: Browser;

  beforeAll(async () => {
    dir = await scratchDir();
    await mkdir(shots, { recursive: true });
    const path = join(dir.path, 'episode.mp4');
    // 20 s of H.264/AAC, fast start, ~1.5 MB: big enough that most bytes are not "urgent".
    const r = spawnSync(
      'ffmpeg',
      [
        ...['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25:duration=20'],
        ...['-f', 'lavfi', '-i', 'sine=frequency=440:duration=20'],
        ...['-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '500k', '-pix_fmt', 'yuv420p'],
        ...['-c:a', 'aac', '-b:a', '64k', '-movflags', '+faststart', '-shortest', path],
      ],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr}`);
    fx = await startP2pFixture({ mediaPath: path, type: 'video/mp4', kind: 'video', durationMs: 20_000 });
    const o = chromiumLaunchOptions(join(dir.path, 'home'));
    browser = await chromium.launch({
      ...o,
      // Two headless pages on one machine: offer plain loopback addresses, not mDNS names
      // that nothing here resolves (a real browser pair would use STUN candidates).
      args: [...o.args, '--disable-features=WebRtcHideLocalIpsWithMdns'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await fx?.close();
    await dir?.remove();
  });

  it('page B gets most of its bytes from page A (measured by the engines), and plays', async () => {
    const a = await openAndPlay(browser, fx.pageUrl());
    await waitFor(async () => (await statsOf(a))?.complete === true, 60_000, 'page A to hold the episode');
    const origin0 = fx.originBytes();
    const b = await openAndPlay(browser, fx.pageUrl());
    await waitFor(async () => (await statsOf(b))?.complete === true, 90_000, 'page B to hold the episode');
    await waitFor(async () => (await playing(b)).time > 1, 60_000, 'page B to play');
    const sb = (await statsOf(b)) as Stats;
    const sa = (await statsOf(a)) as Stats;
    const share = sb.bytesFromPeers / (sb.bytesFromPeers + sb.bytesFromWebSeed);
    console.log(
      `page B: ${sb.bytesFromPeers} B from peers, ${sb.bytesFromWebSeed} B from the web seed (${(100 * share).toFixed(1)}% peers); page A uploaded ${sa.uploaded} B; origin sent ${fx.originBytes() - origin0} B while B loaded`,
    );
    expect(sb.peers).toBeGreaterThan(0);
    expect(share).toBeGreaterThan(0.5);
    // The only peer B had is A: A's uploads account for B's peer bytes.
    expect(sa.uploaded).toBeGreaterThanOrEqual(sb.bytesFromPeers * 0.95);
    // The element plays the origin URL marked for the swarm (no src change at hand-over).
    const bsrc = new URL((await playing(b)).src);
    expect(`${bsrc.origin}${bsrc.pathname}`).toBe(fx.mediaUrl);
    expect(bsrc.searchParams.get('sc-p2p')).toMatch(/^[0-9a-f]{16}$/);
    // The transfer stats reach the collector in play beacons that measure's parser accepts.
    await waitFor(
      () =>
        fx.playBeacons.some((x) => {
          const r = parsePlayBeacon(x);
          return r.ok && r.value.bytesFromPeers > 0 && r.value.bytesFromPeers <= sb.bytesFromPeers;
        }),
      30_000,
      'a play beacon with bytes from peers',
    );
    const panel = await b.locator('.sc-sharing-stats').textContent();
    expect(panel).toMatch(/\d+ peers? · \d+% of [\d.]+ MB from peers · uploaded/);
    await b.screenshot({ path: join(shots, 'page-b-from-peers.png') });
    await a.context().close();
    await b.context().close();
  }, 240_000);

  it('with WebRTC off the page plays from the web seed alone', async () => {
    const page = await openAndPlay(browser, fx.pageUrl({ webrtc: false }));
    await waitFor(async () => (await playing(page)).time > 1, 60_000, 'playback');
    const s = (await statsOf(page)) as Stats;
    expect(s.peers).toBe(0);
    expect(s.bytesFromPeers).toBe(0);
    expect(s.bytesFromWebSeed).toBeGreaterThan(0);
    expect((await playing(page)).src).toContain('sc-p2p=');
    await page.screenshot({ path: join(shots, 'web-seed-only.png') });
    // Returning: the page is controlled at once; the element's URL is the same, and its
    // requests before the engine is up go to the origin through the Service Worker.
    await page.reload();
    const early = await page.evaluate(() => (document.querySelector('.sc-content') as HTMLMediaElement).src);
    expect(early).toContain('sc-p2p=');
    await waitFor(async () => (await statsOf(page)) !== null, 30_000, 'the engine after reload');
    await page.evaluate(() => {
      const v = document.querySelector('.sc-content') as HTMLMediaElement;
      v.muted = true;
      void v.play();
    });
    await waitFor(async () => (await playing(page)).time > 1, 60_000, 'playback after reload');
    expect(((await statsOf(page)) as Stats).bytesFromWebSeed).toBeGreaterThan(0);
    await page.context().close();
  }, 120_000);

  it('first visit: the element starts on the origin at once and moves to the engine at the next range request, without a glitch', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const before = fx.mediaRequests.length;
    const [marked0, beacons0] = [fx.markedBytes(), fx.playBeacons.length];
    await page.goto(fx.pageUrl({ webrtc: false }));
    await page.evaluate(() => {
      const v = document.querySelector('.sc-content') as HTMLMediaElement;
      const w = window as unknown as { seen: string[]; src0: string };
      w.seen = [];
      w.src0 = v.src;
      for (const t of ['emptied', 'abort', 'error']) v.addEventListener(t, () => w.seen.push(t));
    });
    // The element asked the origin for the media before any engine ran (preload metadata),
    // with the swarm mark, and the origin answered one window.
    await waitFor(
      () => fx.mediaRequests.slice(before).some((r) => r.marked),
      30_000,
      'the element to read the origin',
    );
    await waitFor(async () => (await statsOf(page)) !== null, 30_000, 'the engine to start');
    await page.evaluate(() => {
      const v = document.querySelector('.sc-content') as HTMLMediaElement;
      v.muted = true;
      void v.play();
    });
    // Played past the first window (512 KiB of a ~1.5 MB, 20 s file: about 7 s).
    await waitFor(async () => (await playing(page)).time > 12, 90_000, 'playback past the first window');
    const after = await page.evaluate(async () => {
      const v = document.querySelector('.sc-content') as HTMLMediaElement;
      const w = window as unknown as {
        seen: string[];
        src0: string;
        player: {
          p2p: Promise<{
            requests(): { engine: number; origin: number; firstEngineStart: number | null };
          } | null>;
        };
      };
      const pb = await w.player.p2p;
      return {
        seen: w.seen,
        same: v.currentSrc === w.src0,
        played: v.played.length,
        playedStart: v.played.start(0),
        requests: pb?.requests() ?? null,
      };
    });
    console.log(`hand-over: ${JSON.stringify(after)}`);
    // The rest of the file came through the engine, in the same element stream: no new
    // source, no reload, one continuous played range from 0.
    expect(after.requests?.engine).toBeGreaterThan(0);
    expect(after.seen).toEqual([]);
    expect(after.same).toBe(true);
    expect(after.played).toBe(1);
    expect(after.playedStart).toBe(0);
    // The bytes the element read from the origin itself (before the engine answered) are in
    // what the player reports as from the web seed, beside the engine's own web-seed bytes,
    // and none twice. What the player can see: every completed origin read (Resource Timing),
    // and for a read the browser cancelled (Chromium reports it with no body size) the prefix
    // the element used, up to the first byte it asked the engine for. The origin may have sent
    // more of that cancelled read than the element used (the rest of its window): that part is
    // counted by the origin's server, not by the player (docs/measurement-methodology.md).
    await waitFor(
      async () => (await statsOf(page))?.complete === true,
      60_000,
      'the engine to hold the episode',
    );
    const engine = (await statsOf(page)) as Stats;
    const elementOrigin = fx.markedBytes() - marked0;
    const prefix = after.requests?.firstEngineStart ?? 0;
    expect(elementOrigin).toBeGreaterThan(0);
    expect(prefix).toBeGreaterThan(0);
    expect(prefix).toBeLessThanOrEqual(elementOrigin);
    await page.evaluate(() => (window as unknown as { player: { destroy(): void } }).player.destroy());
    const beaconWebSeed = () =>
      fx.playBeacons
        .slice(beacons0)
        .map((x) => parsePlayBeacon(x))
        .filter((r) => r.ok)
        .map((r) => r.value.bytesFromWebSeed);
    const reported = await waitFor(
      () => {
        const last = beaconWebSeed();
        return last.length > 0 && Math.max(...last) >= engine.bytesFromWebSeed + prefix
          ? Math.max(...last)
          : null;
      },
      30_000,
      'a play beacon counting the element origin bytes',
    ).catch((e: Error) => {
      const requests = JSON.stringify(fx.mediaRequests.slice(before));
      throw new Error(
        `${e.message}: beacons' web-seed bytes ${JSON.stringify(beaconWebSeed())}, engine ${engine.bytesFromWebSeed}, element prefix ${prefix}, origin sent ${elementOrigin}, requests ${requests}`,
      );
    });
    console.log(
      `element origin bytes: origin sent ${elementOrigin}, player counted ${(reported as number) - engine.bytesFromWebSeed} (prefix the element used: ${prefix})`,
    );
    expect(reported).toBeLessThanOrEqual(engine.bytesFromWebSeed + elementOrigin);
    await ctx.close();
  }, 180_000);

  it('a seek is served with the right bytes, and playback continues after it', async () => {
    const page = await openAndPlay(browser, fx.pageUrl({ webrtc: false }));
    await waitFor(async () => (await playing(page)).time > 0.5, 60_000, 'playback');
    // The media element's own request after a seek goes through the Service Worker.
    await page.evaluate(() => {
      const v = document.querySelector('.sc-content') as HTMLMediaElement;
      v.currentTime = 15;
    });
    await waitFor(async () => (await playing(page)).time > 15.5, 60_000, 'playback after the seek');
    // A range far into the file, through the same Service Worker path, byte for byte.
    const [start, end] = [fx.media.length - 300_001, fx.media.length - 1000];
    const got = await page.evaluate(
      async ([s, e]) => {
        const v = document.querySelector('.sc-content') as HTMLMediaElement;
        const r = await fetch(v.currentSrc, { headers: { range: `bytes=${s}-${e}` } });
        return {
          status: r.status,
          range: r.headers.get('content-range'),
          bytes: Array.from(new Uint8Array(await r.arrayBuffer())),
        };
      },
      [start, end],
    );
    expect(got.status).toBe(206);
    expect(got.range).toBe(`bytes ${start}-${end}/${fx.media.length}`);
    expect(Buffer.from(got.bytes).equals(fx.media.subarray(start, end + 1))).toBe(true);
    // A stream no page claims (its engine is gone) is answered from the origin URL it carries.
    const orphan = await page.evaluate(async (origin) => {
      const url = `/assets/stream/${'ab'.repeat(20)}/x.mp4?origin=${encodeURIComponent(origin)}`;
      const r = await fetch(url, { headers: { range: 'bytes=100-199' } });
      return { status: r.status, bytes: Array.from(new Uint8Array(await r.arrayBuffer())) };
    }, fx.mediaUrl);
    expect(orphan.status).toBe(206);
    expect(Buffer.from(orphan.bytes).equals(fx.media.subarray(100, 200))).toBe(true);
    await page.context().close();
  }, 120_000);
});

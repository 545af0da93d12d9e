import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type BDict, decodeBencode, encodeBencode } from '@swarmcast/bittorrent';
import { latestEpisodes } from '@swarmcast/catalog';
import { chromiumLaunchOptions, requireBinaries, scratchDir, waitFor } from '@swarmcast/testkit';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNode, startNode } from '../src/index.ts';

/**
 * Issue 7: our WebRTC peers speak WebTorrent's protocol, so a WebTorrent peer and ours trade.
 * WebTorrent's own browser bundle (webtorrent@2 dist, loaded into a page of the node's
 * origin) is given the episode's .torrent without its url-list, so its only source is the
 * swarm met through our WebSocket tracker:
 * 1. WebTorrent downloads the episode from the node's seeder (node-datachannel) byte for byte;
 * 2. with the node's seeder gone, our in-page engine (the episode page's player) gets its
 *    bytes from the WebTorrent page, which counts them as uploaded.
 */
const prereq = requireBinaries('WebTorrent peer interop in Chromium', 'chromium');
const require = createRequire(import.meta.url);
const webtorrentBundle = join(
  dirname(require.resolve('webtorrent/package.json')),
  'dist',
  'webtorrent.min.js',
);

/** The little of WebTorrent's browser API this test uses. */
interface WtWire {
  type: string;
  on(event: 'download', cb: (bytes: number) => void): void;
}
interface WtTorrent {
  progress: number;
  uploaded: number;
  numPeers: number;
  files: { blob(): Promise<Blob> }[];
  on(event: 'wire', cb: (wire: WtWire) => void): void;
  on(event: 'done', cb: () => void): void;
}

interface WtClient {
  on(event: 'error', cb: (e: Error) => void): void;
  add(torrent: Uint8Array, opts: object, cb: (t: WtTorrent) => void): void;
}

interface WtStats {
  done: boolean;
  progress: number;
  uploaded: number;
  /** Bytes received per wire type ('webrtc', 'webSeed', ...). */
  byWire: Record<string, number>;
  sha256: string;
  peers: number;
}

describe.skipIf(prereq.skip)('a WebTorrent browser peer and ours trade through our tracker', () => {
  let node: RunningNode;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let browser: Browser;
  let wtPage: Page;
  let episodeId = '';
  let mediaSha = '';
  let mediaLength = 0;

  beforeAll(async () => {
    dir = await scratchDir('webtorrent-peer');
    node = await startNode({ port: 0, host: '127.0.0.1', dataDir: join(dir.path, 'node') });
    const ep = (await latestEpisodes(node.db, 10)).find((e) => e.media?.mime === 'audio/mpeg');
    expect(ep, 'a demo audio episode').toBeDefined();
    episodeId = ep!.id;
    const media = new Uint8Array(
      await (await fetch(new URL(`/media/${ep!.media!.path}`, node.url))).arrayBuffer(),
    );
    mediaSha = createHash('sha256').update(media).digest('hex');
    mediaLength = media.length;
    const o = chromiumLaunchOptions(join(dir.path, 'home'));
    // Two headless pages on one machine: plain loopback candidates, not mDNS names.
    browser = await chromium.launch({
      ...o,
      args: [...o.args, '--disable-features=WebRtcHideLocalIpsWithMdns'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await node?.close();
    await dir?.remove();
  });

  it('WebTorrent downloads the episode from the node over WebRTC, byte for byte', async () => {
    // The same .torrent with no url-list: the info dict (and so the info-hash) is unchanged.
    const res = await fetch(new URL(`/episodes/${encodeURIComponent(episodeId)}.torrent`, node.url));
    expect(res.status).toBe(200);
    const decoded = decodeBencode(new Uint8Array(await res.arrayBuffer()));
    if (!decoded.ok) throw new Error(decoded.error.message);
    const { 'url-list': _webSeeds, ...rest } = decoded.value.value as BDict;
    const swarmOnly = Buffer.from(encodeBencode(rest as BDict));

    const context = await browser.newContext();
    wtPage = await context.newPage();
    wtPage.on('pageerror', (e) => console.log('webtorrent page error:', e.message));
    await wtPage.route('**/__test/webtorrent.js', async (route) =>
      route.fulfill({ body: await readFile(webtorrentBundle), contentType: 'text/javascript' }),
    );
    await wtPage.route('**/__test/swarm-only.torrent', (route) =>
      route.fulfill({ body: swarmOnly, contentType: 'application/x-bittorrent' }),
    );
    await wtPage.goto(new URL('/', node.url).toString());
    // A module script tag (an import() inside evaluate would be rewritten by the test's bundler).
    await wtPage.addScriptTag({
      type: 'module',
      content: "import WebTorrent from '/__test/webtorrent.js'; window.WebTorrent = WebTorrent;",
    });
    await wtPage.waitForFunction(() => 'WebTorrent' in window, undefined, { timeout: 30_000 });
    await wtPage.evaluate(async () => {
      const WebTorrent = (window as unknown as { WebTorrent: new () => WtClient }).WebTorrent;
      const buf = new Uint8Array(await (await fetch('/__test/swarm-only.torrent')).arrayBuffer());
      const client = new WebTorrent();
      const w = window as unknown as Record<string, unknown>;
      const byWire: Record<string, number> = {};
      w.wt = { done: false, byWire, sha256: '', client };
      client.on('error', (e: Error) => console.log('webtorrent error', e.message));
      client.add(buf, {}, (t: WtTorrent) => {
        const state = w.wt as Record<string, unknown>;
        state.torrent = t;
        t.on('wire', (wire: WtWire) => {
          wire.on('download', (n: number) => {
            byWire[wire.type] = (byWire[wire.type] ?? 0) + n;
          });
        });
        t.on('done', async () => {
          const file = t.files[0];
          if (!file) return;
          const blob: Blob = await file.blob();
          const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
          state.sha256 = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
          state.done = true;
        });
      });
    });
    const stats = () =>
      wtPage.evaluate((): WtStats | null => {
        const s = (
          window as unknown as {
            wt?: { done: boolean; byWire: Record<string, number>; sha256: string; torrent?: WtTorrent };
          }
        ).wt;
        if (!s?.torrent) return null;
        return {
          done: s.done,
          progress: s.torrent.progress,
          uploaded: s.torrent.uploaded,
          byWire: s.byWire,
          sha256: s.sha256,
          peers: s.torrent.numPeers,
        };
      });
    await waitFor(async () => (await stats())?.done === true, 90_000, 'WebTorrent to finish from the node');
    const s = (await stats())!;
    console.log(`WebTorrent got ${JSON.stringify(s.byWire)} (file ${mediaLength} B)`);
    expect(s.sha256).toBe(mediaSha);
    expect(Object.keys(s.byWire)).toEqual(['webrtc']);
    expect(s.byWire.webrtc).toBeGreaterThanOrEqual(mediaLength);
  }, 150_000);

  it("with the node's seeder gone, our player's engine gets its bytes from the WebTorrent peer", async () => {
    expect(wtPage, 'the WebTorrent page of the previous test').toBeDefined();
    await node.services.seeding?.close();
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(new URL(`/episodes/${encodeURIComponent(episodeId)}`, node.url).toString());
    const engineStats = () =>
      page.evaluate(async () => {
        const el = document.querySelector('[data-swarmcast-player]') as
          | (HTMLElement & {
              swarmcastPlayer?: {
                p2p?: Promise<{
                  engine: { stats(): { peers: number; bytesFromPeers: number; complete: boolean } };
                } | null>;
              };
            })
          | null;
        const pb = await el?.swarmcastPlayer?.p2p;
        return pb ? pb.engine.stats() : null;
      });
    await waitFor(async () => (await engineStats()) !== null, 30_000, 'our engine to start');
    const region = page.getByRole('region', { name: /^Player: / });
    await region.focus();
    await page.keyboard.press('k');
    await waitFor(
      async () => ((await engineStats())?.bytesFromPeers ?? 0) > 0,
      90_000,
      'bytes from the WebTorrent peer',
    );
    const ours = (await engineStats())!;
    const uploaded = await wtPage.evaluate(
      () => (window as unknown as { wt: { torrent: { uploaded: number } } }).wt.torrent.uploaded,
    );
    console.log(`our engine: ${ours.bytesFromPeers} B from peers; WebTorrent uploaded ${uploaded} B`);
    // The WebTorrent page is the only peer left in the swarm: what we got from peers, it sent.
    expect(ours.peers).toBe(1);
    expect(uploaded).toBeGreaterThanOrEqual(ours.bytesFromPeers);
  }, 150_000);
});

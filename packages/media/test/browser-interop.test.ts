import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { chromiumLaunchOptions, requireBinaries, scratchDir } from '@swarmcast/testkit';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adFrames, assembleStitch, layoutStitch, prepareAd, scanMp3 } from '../src/index.ts';
import { makeMp3, type Tone } from './ffmpeg.ts';

/** A byte-range server (open-ended `bytes=N-` too, as browsers ask) for the files in `root`. */
async function rangeServer(root: string) {
  const server = createServer(async (req, res) => {
    const name = (req.url ?? '/').replace(/^\/+/, '');
    if (!/^[\w.-]+$/.test(name)) return void res.writeHead(404).end();
    let body: Buffer;
    try {
      body = await readFile(join(root, name));
    } catch {
      return void res.writeHead(404).end();
    }
    const type = name.endsWith('.html') ? 'text/html' : 'audio/mpeg';
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (!m)
      return void res
        .writeHead(200, { 'content-type': type, 'accept-ranges': 'bytes', 'content-length': body.length })
        .end(body);
    const start = Number(m[1]);
    const end = Math.min(m[2] ? Number(m[2]) : body.length - 1, body.length - 1);
    if (start > end) return void res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
    res.writeHead(206, {
      'content-type': type,
      'accept-ranges': 'bytes',
      'content-range': `bytes ${start}-${end}/${body.length}`,
      'content-length': end - start + 1,
    });
    res.end(body.subarray(start, end + 1));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const tools = requireBinaries('stitched MP3 played in Chromium', 'ffmpeg', 'chromium');

/**
 * A real player: Chromium's <audio> reads the stitched file over HTTP with ranges (duration
 * from the Xing header, a seek into the mid-roll), and Web Audio decodes it; the page measures
 * which tone plays inside each planned ad span.
 */
describe.skipIf(tools.skip)('a stitched MP3 in Chromium', () => {
  let dir: { path: string; remove(): Promise<void> };
  beforeAll(async () => {
    dir = await scratchDir('swarmcast-media-browser-');
  });
  afterAll(async () => {
    await dir?.remove();
  });

  for (const tone of [
    { hz: 440, seconds: 10, sampleRate: 44100, channels: 2, kbps: 128 },
    { hz: 440, seconds: 10, sampleRate: 48000, channels: 1, vbr: 5, id3: false },
  ] satisfies Tone[]) {
    it(`${tone.sampleRate} Hz ${tone.channels} ch ${tone.vbr === undefined ? 'CBR' : 'VBR'}: duration, seeking and the ads where planned`, async () => {
      const name = `${tone.sampleRate}-${tone.channels}`;
      const content = new Uint8Array(await readFile(await makeMp3(dir.path, `c-${name}.mp3`, tone)));
      const creative = new Uint8Array(
        await readFile(
          await makeMp3(dir.path, `ad-${name}.mp3`, {
            hz: 3000,
            seconds: 2,
            sampleRate: 44100,
            channels: 2,
            kbps: 128,
          }),
        ),
      );
      const scan = scanMp3(content);
      if (!scan.ok) throw scan.error;
      const prepared = await prepareAd(creative, scan.value.profile);
      const ad = adFrames('ad', prepared);
      const layout = layoutStitch(scan.value, [
        { atMs: 0, ads: [ad] },
        { atMs: 5000, ads: [ad] },
        { atMs: 1e9, ads: [ad] },
      ]);
      if (!layout.ok) throw layout.error;
      const l = layout.value;
      await writeFile(
        join(dir.path, `s-${name}.mp3`),
        assembleStitch(l, content, () => prepared.frames),
      );
      await writeFile(
        join(dir.path, 'page.html'),
        '<!doctype html><title>player</title><audio preload="metadata"></audio>',
      );

      const server = await rangeServer(dir.path);
      const browser = await chromium.launch(chromiumLaunchOptions(join(dir.path, 'home')));
      try {
        const page = await browser.newPage();
        await page.goto(`${server.url}page.html`);
        const spans = l.ads.map((a) => [a.startMs / 1000, a.endMs / 1000] as [number, number]);
        const result = await page.evaluate(
          async ({ src, spans, midSeek }) => {
            const audio = document.querySelector('audio') as HTMLAudioElement;
            const once = (type: string) =>
              new Promise<void>((resolve, reject) => {
                audio.addEventListener(type, () => resolve(), { once: true });
                audio.addEventListener('error', () => reject(new Error(`media error ${audio.error?.code}`)), {
                  once: true,
                });
              });
            const loaded = once('loadedmetadata');
            audio.src = src;
            await loaded;
            const duration = audio.duration;
            const seeked = once('seeked');
            audio.currentTime = midSeek;
            await seeked;
            const seekedTo = audio.currentTime;
            const bytes = await (await fetch(src)).arrayBuffer();
            const ctx = new OfflineAudioContext(1, 1, 48000);
            const buffer = await ctx.decodeAudioData(bytes);
            const pcm = buffer.getChannelData(0);
            const rate = buffer.sampleRate;
            const power = (hz: number, a: number, z: number) => {
              const w = (2 * Math.PI * hz) / rate;
              const c = 2 * Math.cos(w);
              let s1 = 0;
              let s2 = 0;
              for (let i = Math.floor(a * rate); i < Math.min(pcm.length, Math.floor(z * rate)); i++) {
                const s0 = (pcm[i] as number) + c * s1 - s2;
                s2 = s1;
                s1 = s0;
              }
              return s1 * s1 + s2 * s2 - c * s1 * s2;
            };
            const adWins = spans.map(
              ([a, z]) => power(3000, a + 0.15, z - 0.15) > 10 * power(440, a + 0.15, z - 0.15),
            );
            const gap = [spans[0]?.[1] ?? 0, spans[1]?.[0] ?? 0] as const;
            const contentWins =
              power(440, gap[0] + 0.15, gap[1] - 0.15) > 10 * power(3000, gap[0] + 0.15, gap[1] - 0.15);
            return { duration, seekedTo, decodedSeconds: buffer.length / rate, adWins, contentWins };
          },
          { src: `${server.url}s-${name}.mp3`, spans, midSeek: (l.ads[1]?.startMs ?? 0) / 1000 + 0.5 },
        );
        const frameS = scan.value.samplesPerFrame / scan.value.profile.sampleRate;
        // Chromium reports the gapless duration: frames less the LAME tag's delay and padding.
        expect(Math.abs(result.duration - l.playableMs / 1000)).toBeLessThanOrEqual(frameS);
        expect(Math.abs(result.seekedTo - ((l.ads[1]?.startMs ?? 0) / 1000 + 0.5))).toBeLessThan(0.1);
        expect(Math.abs(result.decodedSeconds - l.playableMs / 1000)).toBeLessThanOrEqual(frameS);
        expect(result.adWins).toEqual([true, true, true]);
        expect(result.contentWins).toBe(true);
      } finally {
        await browser.close();
        await server.close();
      }
    });
  }
});

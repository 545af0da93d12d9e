import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireBinaries, scratchDir } from '@swarmcast/testkit';
import { MPEGDecoder } from 'mpg123-decoder';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AdFrames,
  adFrames,
  assembleStitch,
  detectContainer,
  layoutStitch,
  type Mp3Scan,
  prepareAd,
  scanMp3,
  shiftMs,
} from '../src/index.ts';
import { scanMp3File } from '../src/node/index.ts';
import {
  decodeErrors,
  decodePcm,
  dominantTone,
  makeMp3,
  probeChapters,
  probeDuration,
  type Tone,
} from './ffmpeg.ts';

const ffmpeg = requireBinaries('MP3 stitching checked by ffmpeg', 'ffmpeg', 'ffprobe');

const contentHz = 440;
const adHz = 3000;

function scanned(bytes: Uint8Array): Mp3Scan {
  const r = scanMp3(bytes);
  if (!r.ok) throw r.error;
  return r.value;
}

/** An ad made by ffmpeg in the content's profile: its frames only, as `prepareAd` returns them. */
async function ffmpegAd(dir: string, like: Tone, name: string) {
  const file = await makeMp3(dir, name, {
    ...like,
    hz: adHz,
    seconds: 2,
    id3: false,
    xing: false,
    vbr: undefined,
    kbps: like.sampleRate > 24000 ? 96 : 48,
  });
  const bytes = new Uint8Array(await readFile(file));
  const scan = scanned(bytes);
  const frames = bytes.subarray(scan.audioStart, scan.audioEnd);
  const ad: AdFrames = {
    adId: name,
    profile: scan.profile,
    byteLength: frames.length,
    frameCount: scan.frameCount,
    cbrKbps: scan.cbrKbps,
    encoderDelay: 576,
  };
  return { ad, frames, scan };
}

const cases: Array<{ name: string; tone: Tone }> = [
  {
    name: 'stereo 44.1k CBR 128k, ID3v2 with chapters + Info',
    tone: {
      hz: contentHz,
      seconds: 8,
      sampleRate: 44100,
      channels: 2,
      kbps: 128,
      chapters: [
        [0, 4000, 'One'],
        [4000, 8000, 'Two'],
      ],
    },
  },
  {
    name: 'mono 48k CBR 64k, no ID3, no Xing',
    tone: { hz: contentHz, seconds: 8, sampleRate: 48000, channels: 1, kbps: 64, id3: false, xing: false },
  },
  {
    name: 'stereo 48k VBR q4, ID3v2 + Xing + ID3v1',
    tone: { hz: contentHz, seconds: 8, sampleRate: 48000, channels: 2, vbr: 4, id3v1: true },
  },
  {
    name: 'mono 44.1k VBR q6, no ID3, no Xing',
    tone: { hz: contentHz, seconds: 8, sampleRate: 44100, channels: 1, vbr: 6, id3: false, xing: false },
  },
  {
    name: 'mono 22.05k (MPEG-2) CBR 32k, ID3v2 + Info',
    tone: { hz: contentHz, seconds: 8, sampleRate: 22050, channels: 1, kbps: 32 },
  },
];

describe.skipIf(ffmpeg.skip)(
  'stitched MP3s decode cleanly in ffmpeg, last as long as content + ads, and play the ads where planned',
  () => {
    let dir: { path: string; remove(): Promise<void> };
    let creative: Uint8Array;
    beforeAll(async () => {
      dir = await scratchDir('swarmcast-media-');
      const file = await makeMp3(dir.path, 'creative.mp3', {
        hz: adHz,
        seconds: 2,
        sampleRate: 44100,
        channels: 2,
        kbps: 128,
      });
      creative = new Uint8Array(await readFile(file));
    });
    afterAll(async () => {
      await dir?.remove();
    });

    for (const { name, tone } of cases) {
      it(name, async () => {
        const file = await makeMp3(dir.path, `${name.replace(/\W+/g, '-')}.mp3`, tone);
        const content = new Uint8Array(await readFile(file));
        const scan = scanned(content);
        expect(await scanMp3File(file)).toEqual({ ok: true, value: scan }); // streamed from disk: the same scan
        expect(scan.profile).toEqual({
          layer: 3,
          mpegVersion: tone.sampleRate >= 32000 ? 1 : 2,
          sampleRate: tone.sampleRate,
          channels: tone.channels,
        });
        expect(scan.headerFrame !== null).toBe(tone.xing !== false);
        expect(scan.id3v2End > 0).toBe(tone.id3 !== false);
        expect(scan.cbrKbps).toBe(tone.vbr === undefined ? tone.kbps : null);
        expect(scan.skippedBytes).toBe(0);
        // The ad creative is a 44.1 kHz stereo MP3 with tags (another profile than most
        // contents), prepared for the content's profile by the npm codecs.
        const prepared = await prepareAd(creative, scan.profile, scan.cbrKbps ? { kbps: scan.cbrKbps } : {});
        const ad = adFrames(`ad-${name}`, prepared);
        const frames = prepared.frames;

        const layout = layoutStitch(scan, [
          { atMs: 0, ads: [ad] },
          { atMs: 4000, ads: [ad] },
          { atMs: 60 * 60 * 1000, ads: [ad] },
        ]);
        if (!layout.ok) throw layout.error;
        const l = layout.value;
        const out = join(dir.path, `stitched-${name.replace(/\W+/g, '-')}.mp3`);
        const bytes = assembleStitch(l, content, () => frames);
        expect(bytes.length).toBe(l.totalBytes);
        await writeFile(out, bytes);

        expect(await decodeErrors(out)).toBe('');
        if (tone.chapters) {
          // ffprobe reads the patched CHAP frames: each edge moved by the breaks before it.
          expect(await probeChapters(out)).toEqual(
            tone.chapters.map(([a, z, title]) => [
              Math.round(shiftMs(l.breaks, a, 'start')),
              Math.round(shiftMs(l.breaks, z, 'end')),
              title,
            ]),
          );
          expect((await probeChapters(out))[1]?.[0]).toBeGreaterThan(4000 + 2 * 1000);
        }
        // The stitched file scans as one stream of the same profile, with a header frame that counts it.
        const again = scanned(bytes);
        // A second decoder, mpg123 (as WebAssembly): no errors, and the length the header promises.
        const mpg123 = new MPEGDecoder();
        await mpg123.ready;
        const decoded = mpg123.decode(bytes);
        mpg123.free();
        expect(decoded.errors).toEqual([]);
        const promised =
          l.frameCount * scan.samplesPerFrame - (again.encoderDelay ?? 0) - (again.encoderPadding ?? 0) - 529;
        expect(Math.abs(decoded.samplesDecoded - promised)).toBeLessThanOrEqual(scan.samplesPerFrame);
        expect(again.profile).toEqual(scan.profile);
        expect(again.headerFrame?.tag.frames).toBe(l.frameCount);
        expect(again.headerFrame?.tag.bytes).toBe(again.audioEnd - (again.headerFrame?.start ?? 0));
        expect(again.headerFrame?.tag.lame?.crcOk).toBe(true);
        expect(again.frameCount).toBe(l.frameCount);
        expect(again.skippedBytes).toBe(0);

        const frameS = scan.samplesPerFrame / scan.profile.sampleRate;
        const bridges = l.breaks.reduce((n, b) => n + b.bridgeFrames, 0);
        const adS = (ad.frameCount * scan.samplesPerFrame) / scan.profile.sampleRate;
        const probed = await probeDuration(out);
        expect(Math.abs(probed - l.durationMs / 1000)).toBeLessThanOrEqual(frameS);
        expect(Math.abs(probed - (scan.durationMs / 1000 + 3 * adS + bridges * frameS))).toBeLessThanOrEqual(
          frameS,
        );
        // ffprobe of the original content: only where it can know it (a header frame, or CBR).
        if (scan.headerFrame || scan.cbrKbps)
          expect(
            Math.abs(probed - ((await probeDuration(file)) + 3 * adS + bridges * frameS)),
          ).toBeLessThanOrEqual(2 * frameS);

        // The ads are heard where the layout says, the content everywhere else.
        const rate = scan.profile.sampleRate;
        const pcm = await decodePcm(out, rate);
        const trimmedMs = (((again.encoderDelay ?? 0) + 529) / rate) * 1000;
        expect(l.ads).toHaveLength(3);
        for (const span of l.ads) {
          expect(
            dominantTone(
              pcm,
              rate,
              [adHz, contentHz],
              span.startMs - trimmedMs + 150,
              span.endMs - trimmedMs - 150,
            ),
          ).toBe(adHz);
        }
        const gaps = [
          [l.ads[0]?.endMs, l.breaks[1]?.startMs],
          [l.breaks[1]?.endMs, l.ads[2]?.startMs],
        ] as Array<[number, number]>;
        for (const [a, z] of gaps)
          expect(dominantTone(pcm, rate, [adHz, contentHz], a - trimmedMs + 150, z - trimmedMs - 150)).toBe(
            contentHz,
          );
      });
    }

    it('a cut before a frame that leans on the bit reservoir: naive concatenation decodes it wrong, the bridge frame restores it bit for bit', async () => {
      const tone: Tone = { hz: contentHz, seconds: 6, sampleRate: 44100, channels: 2, kbps: 128 };
      const file = await makeMp3(dir.path, 'reservoir.mp3', tone);
      const content = new Uint8Array(await readFile(file));
      const scan = scanned(content);
      const { ad, frames } = await ffmpegAd(dir.path, tone, 'reservoir-ad.mp3');
      const layout = layoutStitch(scan, [{ atMs: 3000, ads: [ad] }]);
      if (!layout.ok) throw layout.error;
      const k = layout.value.breaks[0]?.contentFrame as number;
      expect(scan.mainDataBegin[k]).toBeGreaterThan(0);
      expect(layout.value.breaks[0]?.bridgeFrames).toBe(1);

      // Raw frames only (no Xing/LAME), so every decoder output sample sits at frame x samplesPerFrame.
      const audio = (b: Uint8Array, s: Mp3Scan) => b.subarray(s.audioStart, s.audioEnd);
      const stitched = assembleStitch(layout.value, content, () => frames);
      const bridged = audio(stitched, scanned(stitched));
      const cut = scan.frameOffsets[k] as number;
      const naive = new Uint8Array([
        ...content.subarray(scan.audioStart, cut),
        ...frames,
        ...content.subarray(cut, scan.audioEnd),
      ]);
      const original = audio(content, scan);
      const pcmOf = async (name: string, b: Uint8Array) => {
        await writeFile(join(dir.path, name), b);
        expect(await decodeErrors(join(dir.path, name))).toBe('');
        return decodePcm(join(dir.path, name), 44100);
      };
      const [o, n, g] = await Promise.all([
        pcmOf('o.mp3', original),
        pcmOf('naive.mp3', naive),
        pcmOf('bridged.mp3', bridged),
      ]);
      const spf = scan.samplesPerFrame;
      // Frames k+1..k+4 of the content, in each file.
      const diff = (pcm: Int16Array, shiftFrames: number) => {
        let worst = 0;
        for (let i = (k + 1) * spf; i < (k + 5) * spf; i++) {
          worst = Math.max(worst, Math.abs((pcm[i + shiftFrames * spf] as number) - (o[i] as number)));
        }
        return worst;
      };
      expect(diff(g, ad.frameCount + 1)).toBeLessThanOrEqual(1);
      expect(diff(n, ad.frameCount)).toBeGreaterThan(1000);
    });
  },
);

describe.skipIf(ffmpeg.skip)('M4A/MP4 episodes are detected and served plain', () => {
  it('an AAC .m4a made by ffmpeg is "unsupported: MP4/M4A ..." and does not scan as MP3', async () => {
    const dir = await scratchDir('swarmcast-media-m4a-');
    try {
      const file = join(dir.path, 'episode.m4a');
      await promisify(execFile)('ffmpeg', [
        '-v',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        'sine=frequency=440:duration=2',
        '-c:a',
        'aac',
        file,
      ]);
      const bytes = new Uint8Array(await readFile(file));
      const d = detectContainer(bytes.subarray(0, 65536));
      expect(d.container).toBe('mp4');
      expect(!d.stitchable && d.reason).toMatch(/^unsupported: MP4\/M4A/);
      const scan = scanMp3(bytes);
      expect(scan.ok).toBe(false);
    } finally {
      await dir.remove();
    }
  });
});

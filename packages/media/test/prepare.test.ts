import { Mp3Encoder } from '@breezystack/lamejs';
import { MPEGDecoder } from 'mpg123-decoder';
import { describe, expect, it } from 'vitest';
import { type MediaError, prepareAd, resample, scanMp3 } from '../src/index.ts';
import { parseWav } from '../src/prepare/wav.ts';
import { prng } from './synth.ts';
import { tonePower } from './tone.ts';

/** A creative made without ffmpeg: a sine encoded by lamejs itself. */
function lameTone(hz: number, seconds: number, rate: number, channels: 1 | 2, kbps: number): Uint8Array {
  const n = Math.round(seconds * rate);
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) pcm[i] = Math.round(12000 * Math.sin((2 * Math.PI * hz * i) / rate));
  const enc = new Mp3Encoder(channels, rate, kbps);
  const out = [channels === 2 ? enc.encodeBuffer(pcm, pcm) : enc.encodeBuffer(pcm), enc.flush()];
  const bytes = new Uint8Array(out.reduce((s, b) => s + b.length, 0));
  let at = 0;
  for (const b of out) {
    bytes.set(new Uint8Array(b.buffer, b.byteOffset, b.length), at);
    at += b.length;
  }
  return bytes;
}

function wav(channels: Float32Array[], rate: number, bits: 16 | 24 | 32): Uint8Array {
  const n = (channels[0] as Float32Array).length;
  const width = bits / 8;
  const data = n * channels.length * width;
  const b = new Uint8Array(44 + data);
  const v = new DataView(b.buffer);
  b.set(
    [...'RIFF'].map((c) => c.charCodeAt(0)),
    0,
  );
  v.setUint32(4, 36 + data, true);
  b.set(
    [...'WAVEfmt '].map((c) => c.charCodeAt(0)),
    8,
  );
  v.setUint32(16, 16, true);
  v.setUint16(20, bits === 32 ? 3 : 1, true);
  v.setUint16(22, channels.length, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * channels.length * width, true);
  v.setUint16(32, channels.length * width, true);
  v.setUint16(34, bits, true);
  b.set(
    [...'data'].map((c) => c.charCodeAt(0)),
    36,
  );
  v.setUint32(40, data, true);
  for (let i = 0; i < n; i++) {
    channels.forEach((c, ch) => {
      const at = 44 + (i * channels.length + ch) * width;
      const x = c[i] as number;
      if (bits === 16) v.setInt16(at, Math.round(x * 32767), true);
      else if (bits === 24) {
        const s = Math.round(x * 8388607);
        b[at] = s & 0xff;
        b[at + 1] = (s >> 8) & 0xff;
        b[at + 2] = (s >> 16) & 0xff;
      } else v.setFloat32(at, x, true);
    });
  }
  return b;
}

const sine = (hz: number, seconds: number, rate: number, amp = 0.4) =>
  Float32Array.from(
    { length: Math.round(seconds * rate) },
    (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / rate),
  );

async function decode(frames: Uint8Array) {
  const d = new MPEGDecoder();
  await d.ready;
  try {
    return d.decode(frames);
  } finally {
    d.free();
  }
}

describe('prepareAd (codecs from npm only, no ffmpeg)', () => {
  it('turns a 44.1 kHz stereo MP3 into 48 kHz mono CBR frames that decode to the same tone', async () => {
    const creative = lameTone(1000, 3, 44100, 2, 128);
    const ad = await prepareAd(creative, { layer: 3, mpegVersion: 1, sampleRate: 48000, channels: 1 });
    expect(ad.profile).toEqual({ layer: 3, mpegVersion: 1, sampleRate: 48000, channels: 1 });
    expect(ad.kbps).toBe(64);
    const scan = scanMp3(ad.frames);
    if (!scan.ok) throw scan.error;
    expect(scan.value.profile).toEqual(ad.profile);
    expect(scan.value.cbrKbps).toBe(64);
    expect(scan.value.headerFrame).toBeNull();
    expect(scan.value.id3v2End).toBe(0);
    expect(scan.value.audioStart).toBe(0);
    expect(scan.value.audioEnd).toBe(ad.frames.length);
    expect(scan.value.frameCount).toBe(ad.frameCount);
    expect(scan.value.mainDataBegin[0]).toBe(0);
    // 3 s of source (plus the test creative's own priming and padding, as it has no LAME tag
    // to trim them: at most 2 frames) at 48 kHz, plus LAME's priming and padding.
    expect(ad.sourceSamples).toBeGreaterThanOrEqual(144000);
    expect(ad.sourceSamples).toBeLessThanOrEqual(144000 + Math.ceil((2 * 1152 * 48000) / 44100));
    expect(ad.durationMs).toBeGreaterThanOrEqual((ad.sourceSamples / 48000) * 1000);
    expect(ad.durationMs).toBeLessThanOrEqual((ad.sourceSamples / 48000) * 1000 + 2 * 24);
    expect(ad.encoderPadding).toBe(ad.frameCount * 1152 - ad.sourceSamples - 576);

    const out = await decode(ad.frames);
    expect(out.errors).toEqual([]);
    expect(out.sampleRate).toBe(48000);
    // (mpg123-decoder hands a mono stream out as two equal channels)
    const pcm = out.channelData[0] as Float32Array;
    const mid = [48000, 96000] as const;
    const at1000 = tonePower(pcm, 48000, 1000, ...mid);
    expect(at1000).toBeGreaterThan(100 * tonePower(pcm, 48000, 1500, ...mid));
    // Amplitude kept (12000/32768 = 0.366 peak): power of a sine of amplitude A is A^2/4.
    expect(Math.sqrt(at1000 * 4)).toBeGreaterThan(0.3);
    expect(Math.sqrt(at1000 * 4)).toBeLessThan(0.43);
  });

  it('prepares WAV creatives (16-bit stereo 22.05 kHz, 24-bit, float) for a 44.1 kHz stereo profile', async () => {
    const profile = { layer: 3, mpegVersion: 1, sampleRate: 44100, channels: 2 } as const;
    for (const bits of [16, 24, 32] as const) {
      const ad = await prepareAd(wav([sine(700, 1, 22050), sine(700, 1, 22050)], 22050, bits), profile, {
        kbps: 96,
      });
      // LAME would resample 44.1 kHz stereo to 32 kHz at 96 kbit/s: the bitrate is raised instead.
      expect(ad.kbps).toBe(112);
      expect(ad.sourceSamples).toBe(44100);
      const scan = scanMp3(ad.frames);
      expect(scan.ok && scan.value.profile).toEqual(profile);
      const out = await decode(ad.frames);
      expect(out.channelData).toHaveLength(2);
      const pcm = out.channelData[1] as Float32Array;
      expect(tonePower(pcm, 44100, 700, 10000, 40000)).toBeGreaterThan(
        100 * tonePower(pcm, 44100, 1400, 10000, 40000),
      );
    }
  });

  it('prepares for MPEG-2 (22.05 kHz) and MPEG-2.5 (8 kHz) profiles', async () => {
    const creative = lameTone(440, 1, 44100, 2, 128);
    const a = await prepareAd(creative, { layer: 3, mpegVersion: 2, sampleRate: 22050, channels: 2 });
    expect(scanMp3(a.frames).ok && a.frameCount).toBeGreaterThan(30);
    const b = await prepareAd(creative, { layer: 3, mpegVersion: 2.5, sampleRate: 8000, channels: 1 });
    const s = scanMp3(b.frames);
    expect(s.ok && s.value.profile).toEqual({ layer: 3, mpegVersion: 2.5, sampleRate: 8000, channels: 1 });
  });

  it('refuses what it cannot do with coded errors', async () => {
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: MediaError) => e.code,
      );
    const profile = { layer: 3, mpegVersion: 1, sampleRate: 44100, channels: 2 } as const;
    expect(await code(prepareAd(new Uint8Array(4000).fill(7), profile))).toBe('MEDIA_DECODE_FAILED');
    expect(await code(prepareAd(new Uint8Array(0), profile))).toBe('MEDIA_DECODE_FAILED');
    expect(await code(prepareAd(lameTone(440, 1, 44100, 1, 64), { ...profile, sampleRate: 22050 }))).toBe(
      'MEDIA_BAD_PROFILE',
    );
    expect(await code(prepareAd(lameTone(440, 1, 44100, 1, 64), profile, { kbps: 100 }))).toBe(
      'MEDIA_BAD_PROFILE',
    );
    expect(await code(prepareAd(lameTone(440, 3, 44100, 1, 64), profile, { maxSeconds: 2 }))).toBe(
      'MEDIA_DECODE_FAILED',
    );
    const broken = wav([sine(440, 0.1, 8000)], 8000, 16);
    new DataView(broken.buffer).setUint16(34, 12, true); // 12-bit samples: not a layout we read
    expect(await code(prepareAd(broken, profile))).toBe('MEDIA_DECODE_FAILED');
  });

  it('yields to the event loop while it works: the CPU time between two yields stays small (printed)', async () => {
    const creative = lameTone(1000, 20, 44100, 2, 128);
    // Warm up: the first call in a process compiles the WebAssembly decoder and JITs lamejs.
    await prepareAd(lameTone(1000, 0.2, 44100, 2, 128), {
      layer: 3,
      mpegVersion: 1,
      sampleRate: 48000,
      channels: 1,
    });
    // CPU time, not wall time: on a loaded machine the wall clock also counts time the process
    // waited for a core, which says nothing about how long we hold the event loop.
    let mark = process.cpuUsage();
    let worstCpuMs = 0;
    let yields = 0;
    const slices: number[] = [];
    const yieldToEventLoop = async () => {
      const used = process.cpuUsage(mark);
      worstCpuMs = Math.max(worstCpuMs, (used.user + used.system) / 1000);
      slices.push((used.user + used.system) / 1000);
      yields++;
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
      mark = process.cpuUsage();
    };
    const started = performance.now();
    const cpu0 = process.cpuUsage();
    await prepareAd(
      creative,
      { layer: 3, mpegVersion: 1, sampleRate: 48000, channels: 1 },
      { yieldToEventLoop },
    );
    const cpu = process.cpuUsage(cpu0);
    const wall = performance.now() - started;
    console.log(
      `prepareAd of a 20 s creative: ${wall.toFixed(0)} ms wall, ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU, ${yields} yields, longest slice ${worstCpuMs.toFixed(1)} ms CPU`,
    );
    const median = [...slices].sort((a, b) => a - b)[Math.floor(slices.length / 2)] as number;
    console.log(`median slice ${median.toFixed(1)} ms CPU (process-wide: GC threads count too)`);
    expect(median).toBeLessThan(20);
    expect(yields).toBeGreaterThan(50);
    expect(worstCpuMs).toBeLessThan(100);
  });
});

describe('resample', () => {
  it('keeps a tone and its level, and has the right length, up and down', () => {
    for (const [from, to] of [
      [44100, 48000],
      [48000, 44100],
      [48000, 22050],
      [8000, 44100],
    ] as const) {
      const out = resample(sine(440, 1, from), from, to);
      expect(out.length).toBe(to);
      const p = tonePower(out, to, 440, to * 0.2, to * 0.8);
      expect(Math.sqrt(p * 4)).toBeGreaterThan(0.38);
      expect(Math.sqrt(p * 4)).toBeLessThan(0.42);
    }
  });
  it('removes content above the new Nyquist frequency instead of aliasing it', () => {
    // 15 kHz at 48 kHz -> 22.05 kHz would alias to 7.05 kHz without the low-pass.
    const out = resample(sine(15000, 1, 48000), 48000, 22050);
    expect(Math.sqrt(4 * tonePower(out, 22050, 7050, 4000, 18000))).toBeLessThan(0.004);
  });
});

describe('parseWav hostile input', () => {
  it('never reads out of bounds on mutated or truncated files (seeded)', () => {
    const base = wav([sine(440, 0.05, 8000), sine(440, 0.05, 8000)], 8000, 16);
    const rnd = prng(42);
    for (let n = 0; n < 300; n++) {
      const b = base.slice(0, Math.floor(base.length * rnd()));
      for (let e = 0; e < 6; e++)
        b[Math.floor(rnd() * Math.max(1, Math.min(44, b.length)))] = Math.floor(rnd() * 256);
      const r = parseWav(b);
      if (r) for (const c of r.channels) for (const x of c) expect(Math.abs(x)).toBeLessThanOrEqual(1);
    }
  });
});

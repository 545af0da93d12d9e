/**
 * Prepare an ad creative for an encoding profile: decode it (MP3 and other MPEG audio with
 * mpg123 compiled to WebAssembly, `mpg123-decoder`; PCM WAV with our reader), mix to the
 * profile's channels, resample to its rate, and encode CBR Layer III frames with `lamejs`
 * (LAME in JavaScript). Both codecs ship inside their npm packages: no system ffmpeg, nothing
 * downloaded at install. The result is raw frames (no ID3, no Xing) that `layoutStitch` can
 * place between content frames: the stitched stream never changes format.
 *
 * Cost: lamejs runs at about 4-10x real time on one core (a 30 s ad takes 3-8 s; see the
 * test's printed figure). The work is cut into slices of about 8 ms with a yield to the event
 * loop between them, so a server stays responsive while it runs, but it is meant to run once
 * per (creative, profile), ahead of the request that needs it, with the result cached. The
 * first call in a process also compiles mpg123's WebAssembly (~100 ms) and warms lamejs
 * (~90 ms), each in one piece.
 */
import { Mp3Encoder } from '@breezystack/lamejs';
import { MPEGDecoder } from 'mpg123-decoder';
import { MediaError } from '../errors.ts';
import { isLayer3SampleRate, versionForSampleRate } from '../mp3/header.ts';
import { type Mp3Profile, scanMp3 } from '../mp3/scan.ts';
import { resampler } from './resample.ts';
import { isWav, type Pcm, parseWav } from './wav.ts';

export interface PreparedAd {
  /** Raw CBR Layer III frames of the profile: no tags, no header frame. */
  frames: Uint8Array;
  frameCount: number;
  /** Duration of the frames (frameCount x samplesPerFrame / rate), which is what a break adds. */
  durationMs: number;
  profile: Mp3Profile;
  kbps: number;
  /** LAME's priming samples before the audio, and the padding after it in the last frame. */
  encoderDelay: number;
  encoderPadding: number;
  /** Samples of the creative per channel, at the profile's rate. */
  sourceSamples: number;
}

export interface PrepareOptions {
  /**
   * CBR bitrate; default 128/64 (MPEG-1 stereo/mono), 64/32 (MPEG-2), 32/16 (MPEG-2.5). Pass
   * the content's `cbrKbps` to keep a CBR episode uniform. Raised when LAME would otherwise
   * lower the sample rate (the result's `kbps` says what was used).
   */
  kbps?: number;
  /** Refuse creatives longer than this (default 300 s): bounded work per creative. */
  maxSeconds?: number;
  /** How to give the event loop a turn between slices (default: a zero timeout). */
  yieldToEventLoop?: () => Promise<void>;
}

/** LAME's encoder delay (ENCDELAY 576): samples of priming before the first input sample. */
const lameEncoderDelay = 576;

/** Work between two yields to the event loop. */
const sliceMs = 8;

const defaultYield = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export function defaultKbps(profile: Pick<Mp3Profile, 'mpegVersion' | 'channels'>): number {
  const stereo = profile.channels === 2;
  if (profile.mpegVersion === 1) return stereo ? 128 : 64;
  if (profile.mpegVersion === 2) return stereo ? 64 : 32;
  return stereo ? 32 : 16;
}

const validKbps: Record<string, number[]> = {
  '1': [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  '2': [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  '2.5': [8, 16, 24, 32, 40, 48, 56, 64],
};

/**
 * A lamejs encoder that writes exactly the profile's sample rate. lamejs's `Mp3Encoder` lets
 * LAME pick the output rate from the bitrate (at 96 kbit/s stereo it resamples 44.1 kHz to
 * 32 kHz), so the bitrate is raised to the lowest one at which LAME keeps the rate, checked by
 * encoding one frame of silence and scanning it.
 */
async function encoderFor(profile: Mp3Profile, kbps: number, pause: () => Promise<void>) {
  const key = `${profile.sampleRate}/${profile.channels}/${kbps}`;
  const known = keptRateKbps.get(key);
  if (known !== undefined)
    return { encoder: new Mp3Encoder(profile.channels, profile.sampleRate, known), kbps: known };
  const spf = profile.mpegVersion === 1 ? 1152 : 576;
  for (const candidate of (validKbps[String(profile.mpegVersion)] as number[]).filter((k) => k >= kbps)) {
    const probe = new Mp3Encoder(profile.channels, profile.sampleRate, candidate);
    const silence = new Int16Array(spf * 3);
    const a = probe.encodeBuffer(silence, profile.channels === 2 ? silence : undefined);
    const b = probe.flush();
    const bytes = new Uint8Array(a.length + b.length);
    bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.length));
    bytes.set(new Uint8Array(b.buffer, b.byteOffset, b.length), a.length);
    const scan = scanMp3(bytes);
    await pause();
    if (
      scan.ok &&
      scan.value.profile.sampleRate === profile.sampleRate &&
      scan.value.profile.channels === profile.channels
    ) {
      keptRateKbps.set(key, candidate);
      return { encoder: new Mp3Encoder(profile.channels, profile.sampleRate, candidate), kbps: candidate };
    }
  }
  throw new MediaError(
    'MEDIA_BAD_PROFILE',
    `LAME does not encode ${profile.sampleRate} Hz ${profile.channels} ch at ${kbps} kbit/s or above`,
  );
}

/** (rate/channels/asked kbps) -> the kbps at which LAME keeps the rate: a fact of the codec, probed once. */
const keptRateKbps = new Map<string, number>();

/** Decode a creative (MP3/MPEG audio or WAV) to planar PCM. Throws MediaError MEDIA_DECODE_FAILED. */
export async function decodeCreative(input: Uint8Array, options: PrepareOptions = {}): Promise<Pcm> {
  const maxSeconds = options.maxSeconds ?? 300;
  const pause = options.yieldToEventLoop ?? defaultYield;
  if (isWav(input)) {
    const pcm = parseWav(input, maxSeconds * 384000);
    if (!pcm || pcm.channels.length === 0 || (pcm.channels[0] as Float32Array).length === 0) {
      throw new MediaError(
        'MEDIA_DECODE_FAILED',
        'a WAV file this reader does not understand (PCM or float only), or empty',
      );
    }
    if ((pcm.channels[0] as Float32Array).length > maxSeconds * pcm.sampleRate) {
      throw new MediaError('MEDIA_DECODE_FAILED', `the creative is longer than ${maxSeconds} s`);
    }
    return pcm;
  }
  const decoder = new MPEGDecoder();
  await decoder.ready;
  try {
    const chunks: Float32Array[][] = [];
    let sampleRate = 0;
    let samples = 0;
    const slice = 2048;
    let sliceStart = performance.now();
    for (let p = 0; p < input.length; p += slice) {
      const r = decoder.decode(input.subarray(p, Math.min(input.length, p + slice)));
      if (r.samplesDecoded > 0) {
        if (sampleRate !== 0 && r.sampleRate !== sampleRate) {
          throw new MediaError('MEDIA_DECODE_FAILED', 'the creative changes sample rate mid-stream');
        }
        sampleRate = r.sampleRate;
        chunks.push(r.channelData.map((c) => c.slice(0, r.samplesDecoded)));
        samples += r.samplesDecoded;
        if (samples > maxSeconds * sampleRate)
          throw new MediaError('MEDIA_DECODE_FAILED', `the creative is longer than ${maxSeconds} s`);
      }
      if (performance.now() - sliceStart > sliceMs) {
        await pause();
        sliceStart = performance.now();
      }
    }
    if (samples === 0 || sampleRate === 0)
      throw new MediaError('MEDIA_DECODE_FAILED', 'no audio could be decoded from the creative');
    const channelCount = Math.max(...chunks.map((c) => c.length));
    const channels = Array.from({ length: channelCount }, () => new Float32Array(samples));
    let at = 0;
    sliceStart = performance.now();
    for (const chunk of chunks) {
      const n = (chunk[0] as Float32Array).length;
      for (let c = 0; c < channelCount; c++)
        (channels[c] as Float32Array).set(chunk[Math.min(c, chunk.length - 1)] as Float32Array, at);
      at += n;
      if (performance.now() - sliceStart > sliceMs) {
        await pause();
        sliceStart = performance.now();
      }
    }
    return { sampleRate, channels };
  } catch (error) {
    if (error instanceof MediaError) throw error;
    throw new MediaError('MEDIA_DECODE_FAILED', 'the MPEG decoder refused the creative', { cause: error });
  } finally {
    decoder.free();
  }
}

/**
 * Decode `input` and re-encode it as CBR frames of exactly `profile`. Throws MediaError
 * (MEDIA_DECODE_FAILED, MEDIA_BAD_PROFILE); yields to the event loop between slices.
 */
export async function prepareAd(
  input: Uint8Array,
  profile: Mp3Profile,
  options: PrepareOptions = {},
): Promise<PreparedAd> {
  const version = versionForSampleRate(profile.sampleRate);
  if (
    profile.layer !== 3 ||
    version !== profile.mpegVersion ||
    !isLayer3SampleRate(version, profile.sampleRate) ||
    (profile.channels !== 1 && profile.channels !== 2)
  ) {
    throw new MediaError(
      'MEDIA_BAD_PROFILE',
      `no MP3 encoder writes MPEG-${profile.mpegVersion} at ${profile.sampleRate} Hz with ${profile.channels} channel(s)`,
    );
  }
  const kbps = options.kbps ?? defaultKbps(profile);
  if (!(validKbps[String(version)] as number[]).includes(kbps)) {
    throw new MediaError('MEDIA_BAD_PROFILE', `${kbps} kbit/s is not a Layer III bitrate of MPEG-${version}`);
  }
  const pause = options.yieldToEventLoop ?? defaultYield;
  const pcm = await decodeCreative(input, options);
  await pause();

  // Mix to the profile's channels: average down to mono, duplicate mono up to stereo.
  const src = pcm.channels;
  const n = (src[0] as Float32Array).length;
  let mixed: Float32Array[];
  if (profile.channels === 1 && src.length > 1) {
    const mono = new Float32Array(n);
    let sliceStart = performance.now();
    for (let from = 0; from < n; from += 16384) {
      const to = Math.min(n, from + 16384);
      for (const c of src)
        for (let i = from; i < to; i++) mono[i] = (mono[i] as number) + (c[i] as number) / src.length;
      if (performance.now() - sliceStart > sliceMs) {
        await pause();
        sliceStart = performance.now();
      }
    }
    mixed = [mono];
  } else if (profile.channels === 2) mixed = [src[0] as Float32Array, (src[1] ?? src[0]) as Float32Array];
  else mixed = [src[0] as Float32Array];
  await pause();

  // Resample and convert to 16-bit, a slice at a time.
  const resamplers = mixed.map((c) => resampler(c, pcm.sampleRate, profile.sampleRate));
  const length = (resamplers[0] as ReturnType<typeof resampler>).length;
  const floats = resamplers.map(() => new Float32Array(length));
  const ints = resamplers.map(() => new Int16Array(length));
  await pause();
  const step = 1024;
  let sliceStart = performance.now();
  for (let from = 0; from < length; from += step) {
    resamplers.forEach((r, c) => {
      const f = floats[c] as Float32Array;
      const out = ints[c] as Int16Array;
      r.fill(f, from, from + step);
      for (let i = from; i < Math.min(length, from + step); i++) {
        const v = Math.max(-1, Math.min(1, f[i] as number));
        out[i] = Math.round(v < 0 ? v * 32768 : v * 32767);
      }
    });
    if (performance.now() - sliceStart > sliceMs) {
      await pause();
      sliceStart = performance.now();
    }
  }

  // Encode with LAME (lamejs) a frame's worth at a time.
  const { encoder, kbps: usedKbps } = await encoderFor(profile, kbps, pause);
  const spf = version === 1 ? 1152 : 576;
  const parts: Uint8Array[] = [];
  const keep = (b: Int8Array | Uint8Array) => {
    if (b.length > 0) parts.push(new Uint8Array(b.buffer, b.byteOffset, b.length).slice());
  };
  sliceStart = performance.now();
  for (let from = 0; from < length; from += spf) {
    const to = Math.min(length, from + spf);
    const left = (ints[0] as Int16Array).subarray(from, to);
    keep(
      profile.channels === 2
        ? encoder.encodeBuffer(left, (ints[1] as Int16Array).subarray(from, to))
        : encoder.encodeBuffer(left),
    );
    if (performance.now() - sliceStart > sliceMs) {
      await pause();
      sliceStart = performance.now();
    }
  }
  keep(encoder.flush());
  const encoded = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    encoded.set(p, at);
    at += p.length;
  }

  // Check what came out is exactly the profile, and keep only the audio frames.
  const scan = scanMp3(encoded);
  if (!scan.ok)
    throw new MediaError('MEDIA_BAD_PROFILE', 'the encoder produced no MP3 frames', { cause: scan.error });
  const s = scan.value;
  const p = s.profile;
  if (
    p.mpegVersion !== profile.mpegVersion ||
    p.sampleRate !== profile.sampleRate ||
    p.channels !== profile.channels ||
    s.cbrKbps !== usedKbps
  ) {
    throw new MediaError(
      'MEDIA_BAD_PROFILE',
      `the encoder wrote MPEG-${p.mpegVersion} ${p.sampleRate} Hz ${p.channels} ch at ${s.cbrKbps ?? 'variable'} kbit/s`,
    );
  }
  const frames = encoded.slice(s.audioStart, s.audioEnd);
  return {
    frames,
    frameCount: s.frameCount,
    durationMs: s.durationMs,
    profile: { ...profile },
    kbps: usedKbps,
    encoderDelay: lameEncoderDelay,
    encoderPadding: Math.max(0, s.samples - length - lameEncoderDelay),
    sourceSamples: length,
  };
}

/** The `AdFrames` a layout needs, from a prepared ad. */
export function adFrames(adId: string, ad: PreparedAd) {
  return {
    adId,
    profile: ad.profile,
    byteLength: ad.frames.length,
    frameCount: ad.frameCount,
    encoderDelay: ad.encoderDelay,
    encoderPadding: ad.encoderPadding,
    cbrKbps: ad.kbps,
  };
}

/**
 * RIFF/WAVE reader for ad creatives: PCM 8/16/24/32-bit integer and 32/64-bit float, plain or
 * WAVE_FORMAT_EXTENSIBLE, any channel count. Returns planar float samples, or null when the
 * bytes are not a WAV this reader understands (a hostile size field never reads out of bounds).
 */
export interface Pcm {
  sampleRate: number;
  /** One Float32Array per channel, samples in [-1, 1]. */
  channels: Float32Array[];
}

const tag = (b: Uint8Array, at: number, s: string) =>
  at + 4 <= b.length &&
  String.fromCharCode(b[at] as number, b[at + 1] as number, b[at + 2] as number, b[at + 3] as number) === s;

export function isWav(b: Uint8Array): boolean {
  return tag(b, 0, 'RIFF') && tag(b, 8, 'WAVE');
}

export function parseWav(b: Uint8Array, maxSamples = Number.MAX_SAFE_INTEGER): Pcm | null {
  if (!isWav(b)) return null;
  const view = new DataView(b.buffer, b.byteOffset, b.length);
  let fmt: { format: number; channels: number; rate: number; bits: number } | null = null;
  let p = 12;
  while (p + 8 <= b.length) {
    const size = view.getUint32(p + 4, true);
    const body = p + 8;
    if (tag(b, p, 'fmt ') && size >= 16 && body + 16 <= b.length) {
      let format = view.getUint16(body, true);
      if (format === 0xfffe && size >= 40 && body + 26 <= b.length) format = view.getUint16(body + 24, true);
      fmt = {
        format,
        channels: view.getUint16(body + 2, true),
        rate: view.getUint32(body + 4, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (tag(b, p, 'data') && fmt) {
      const { format, channels, rate, bits } = fmt;
      const width = bits / 8;
      const known =
        (format === 1 && [8, 16, 24, 32].includes(bits)) || (format === 3 && (bits === 32 || bits === 64));
      if (!known || channels < 1 || channels > 32 || rate < 1000 || rate > 384000) return null;
      const end = Math.min(b.length, body + size);
      const frames = Math.min(maxSamples, Math.floor((end - body) / (width * channels)));
      const out = Array.from({ length: channels }, () => new Float32Array(frames));
      for (let i = 0; i < frames; i++) {
        for (let c = 0; c < channels; c++) {
          const at = body + (i * channels + c) * width;
          let v: number;
          if (format === 3) v = bits === 32 ? view.getFloat32(at, true) : view.getFloat64(at, true);
          else if (bits === 8) v = ((b[at] as number) - 128) / 128;
          else if (bits === 16) v = view.getInt16(at, true) / 32768;
          else if (bits === 24)
            v =
              (((b[at + 2] as number) << 24) | ((b[at + 1] as number) << 16) | ((b[at] as number) << 8)) /
              2147483648;
          else v = view.getInt32(at, true) / 2147483648;
          (out[c] as Float32Array)[i] = Number.isFinite(v) ? Math.max(-1, Math.min(1, v)) : 0;
        }
      }
      return { sampleRate: rate, channels: out };
    }
    p = body + size + (size & 1);
  }
  return null;
}

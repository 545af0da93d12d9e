/** Tone detection for checking decoded audio (no ffmpeg needed). */

/** Power of `hz` in pcm[from, to) by the Goertzel algorithm, normalised by the window length. */
export function tonePower(
  pcm: ArrayLike<number>,
  rate: number,
  hz: number,
  from: number,
  to: number,
): number {
  const scale = pcm instanceof Float32Array ? 1 : 32768;
  const a = Math.max(0, Math.floor(from));
  const z = Math.min(pcm.length, Math.floor(to));
  const w = (2 * Math.PI * hz) / rate;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = a; i < z; i++) {
    const s0 = (pcm[i] as number) / scale + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const n = Math.max(1, z - a);
  return (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (n * n);
}

/** The louder of two tones in a window of the decoded PCM, given in milliseconds. */
export function dominantTone(
  pcm: ArrayLike<number>,
  rate: number,
  tones: [number, number],
  fromMs: number,
  toMs: number,
): number {
  const a = (fromMs / 1000) * rate;
  const z = (toMs / 1000) * rate;
  return tonePower(pcm, rate, tones[0], a, z) >= tonePower(pcm, rate, tones[1], a, z) ? tones[0] : tones[1];
}

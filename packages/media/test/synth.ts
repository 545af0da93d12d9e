import { crc16Mpeg } from '../src/mp3/crc.ts';
import { buildFrameHeader, type MpegVersion, sideInfoBytes } from '../src/mp3/header.ts';

/** Synthetic Layer III frames (silent side info, filler payload) for scanner tests without ffmpeg. */
export function frames(
  n: number,
  o: {
    version?: MpegVersion;
    sampleRate?: number;
    channels?: 1 | 2;
    bitrateIndex?: number;
    crc?: boolean;
  } = {},
): Uint8Array {
  const version = o.version ?? 1;
  const sampleRate = o.sampleRate ?? 44100;
  const channels = o.channels ?? 2;
  const { header, frameBytes } = buildFrameHeader(version, sampleRate, channels, o.bitrateIndex ?? 9);
  const out = new Uint8Array(n * frameBytes);
  for (let i = 0; i < n; i++) {
    const f = out.subarray(i * frameBytes, (i + 1) * frameBytes);
    f.set(header);
    f.fill(0x55, 4 + sideInfoBytes(version, channels) + (o.crc ? 2 : 0));
    if (o.crc) {
      f[1] = (f[1] as number) & 0xfe;
      const side = 6 + sideInfoBytes(version, channels);
      f.fill(0, 6, side);
      const crc = crc16Mpeg(f, 6, side, crc16Mpeg(f, 2, 4));
      f[4] = crc >> 8;
      f[5] = crc & 0xff;
    }
  }
  return out;
}

export function id3v2(
  bodyBytes: number,
  o: { major?: number; footer?: boolean; claimed?: number } = {},
): Uint8Array {
  const major = o.major ?? 3;
  const total = 10 + bodyBytes + (o.footer ? 10 : 0);
  const tag = new Uint8Array(total);
  tag.set([0x49, 0x44, 0x33, major, 0, o.footer ? 0x10 : 0]);
  let size = o.claimed ?? bodyBytes;
  for (let i = 9; i >= 6; i--) {
    tag[i] = size & 0x7f;
    size = Math.floor(size / 128);
  }
  if (o.footer) tag.set([0x33, 0x44, 0x49, major, 0, 0x10, ...tag.subarray(6, 10)], total - 10);
  return tag;
}

export const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** A seeded PRNG (mulberry32) so a failing fuzz case can be replayed from its printed seed. */
export { prng } from '@swarmcast/testkit';

/** An ID3v2.3/2.4 tag with the given frames ([id, body]) and `padding` zero bytes. */
export function id3WithFrames(major: 3 | 4, frames: Array<[string, Uint8Array]>, padding = 0): Uint8Array {
  const size = (n: number, safe: boolean) =>
    safe
      ? [(n >> 21) & 0x7f, (n >> 14) & 0x7f, (n >> 7) & 0x7f, n & 0x7f]
      : [n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  const body = concat(
    ...frames.map(([id, b]) =>
      concat(new TextEncoder().encode(id), new Uint8Array([...size(b.length, major === 4), 0, 0]), b),
    ),
    new Uint8Array(padding),
  );
  return concat(new Uint8Array([0x49, 0x44, 0x33, major, 0, 0, ...size(body.length, true)]), body);
}

export function chapFrame(id: string, startMs: number, endMs: number, title: string): [string, Uint8Array] {
  const be = (n: number) => [n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  const tit2 = concat(
    new TextEncoder().encode('TIT2'),
    new Uint8Array([0, 0, 0, title.length + 1, 0, 0, 0]),
    new TextEncoder().encode(title),
  );
  return [
    'CHAP',
    concat(
      new TextEncoder().encode(id),
      new Uint8Array([0, ...be(startMs), ...be(endMs), 255, 255, 255, 255, 255, 255, 255, 255]),
      tit2,
    ),
  ];
}

export const textFrame = (id: string, text: string): [string, Uint8Array] => [
  id,
  concat(new Uint8Array([0]), new TextEncoder().encode(text)),
];

/** Byte equality without the test runner's element-by-element diff (slow on megabytes). */
export const sameBytes = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length &&
  Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));

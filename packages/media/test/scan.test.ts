import { Mp3Encoder } from '@breezystack/lamejs';
import { describe, expect, it } from 'vitest';
import {
  assembleStitch,
  boundaryMs,
  detectContainer,
  frameBoundaryAt,
  layoutStitch,
  type Mp3Scan,
  scanMp3,
} from '../src/index.ts';
import { buildXingFrame } from '../src/mp3/xing.ts';
import { chapFrame, concat, frames, id3v2, id3WithFrames, prng, textFrame } from './synth.ts';

const ok = (bytes: Uint8Array): Mp3Scan => {
  const r = scanMp3(bytes);
  if (!r.ok) throw r.error;
  return r.value;
};
const code = (bytes: Uint8Array) => {
  const r = scanMp3(bytes);
  return r.ok ? 'ok' : r.error.code;
};
const frame128 = 417; // MPEG-1 44.1 kHz 128 kbit/s, unpadded

describe('scanMp3', () => {
  it('measures plain frames: profile, count, duration, offsets', () => {
    const s = ok(frames(10));
    expect(s.profile).toEqual({ layer: 3, mpegVersion: 1, sampleRate: 44100, channels: 2 });
    expect(s.frameCount).toBe(10);
    expect(s.samples).toBe(11520);
    expect(s.durationMs).toBeCloseTo((11520 / 44100) * 1000, 9);
    expect([...s.frameOffsets]).toEqual(Array.from({ length: 10 }, (_, i) => i * frame128));
    expect(s.cbrKbps).toBe(128);
    expect(s.headerFrame).toBeNull();
  });

  it('zero-length and tag-only files are MEDIA_EMPTY', () => {
    expect(code(new Uint8Array(0))).toBe('MEDIA_EMPTY');
    expect(code(id3v2(100))).toBe('MEDIA_EMPTY');
  });

  it('skips ID3v2 (v2.3, and v2.4 with a footer) and reports where audio starts', () => {
    expect(ok(concat(id3v2(300), frames(5))).audioStart).toBe(310);
    expect(ok(concat(id3v2(300, { major: 4, footer: true }), frames(5))).audioStart).toBe(320);
    expect(ok(concat(id3v2(300, { major: 4, footer: true }), frames(5))).id3v2End).toBe(320);
  });

  it('a huge ID3v2 size field past the end: resynchronises after the header, with a warning', () => {
    const s = ok(concat(id3v2(300, { claimed: 0x0fffffff }), frames(5)));
    expect(s.frameCount).toBe(5);
    expect(s.id3v2End).toBe(0);
    expect(s.warnings.join(' ')).toMatch(/past the end/);
  });

  it('cuts ID3v1 and APE tails off the audio', () => {
    const v1 = new Uint8Array(128);
    v1.set([0x54, 0x41, 0x47]);
    const ape = new Uint8Array(32 + 16);
    const footer = ape.subarray(16);
    footer.set([...'APETAGEX'].map((c) => c.charCodeAt(0)));
    new DataView(footer.buffer, footer.byteOffset).setUint32(12, 48, true);
    const s = ok(concat(frames(4), ape, v1));
    expect(s.frameCount).toBe(4);
    expect(s.trailingTags).toEqual(['id3v1', 'ape']);
    expect(s.trailingTagsStart).toBe(4 * frame128);
    expect(s.skippedBytes).toBe(0);
  });

  it('resynchronises past garbage between frames and counts it', () => {
    const garbage = new Uint8Array(777).fill(0xff);
    const s = ok(concat(frames(4), garbage, frames(4)));
    expect(s.frameCount).toBe(8);
    expect(s.resyncs).toBe(1);
    expect(s.skippedBytes).toBe(777);
    expect(s.frameOffsets[4]).toBe(4 * frame128 + 777);
  });

  it('stays linear on pathological bytes: 8 MB of 0xFF, and headers every 4 bytes whose chains break', () => {
    const started = performance.now();
    expect(code(new Uint8Array(8 << 20).fill(0xff))).toBe('MEDIA_NOT_MP3');
    const header = frames(1).subarray(0, 4);
    const fake = new Uint8Array(4 << 20);
    for (let i = 0; i < fake.length; i += 4) fake.set(header, i); // each "frame" points into more headers
    const r = scanMp3(fake);
    // 417 is not a multiple of 4, so the lock fails at every candidate... or finds a chain: either way it ends.
    expect(r.ok ? r.value.frameCount : r.error.code).toBeDefined();
    console.log(`pathological scans: ${(performance.now() - started).toFixed(0)} ms for 12 MB`);
  });

  it('drops a truncated last frame', () => {
    const s = ok(frames(6).subarray(0, 5 * frame128 + 100));
    expect(s.frameCount).toBe(5);
    expect(s.truncatedTailBytes).toBe(100);
  });

  it('names free-format and Layer II files instead of calling them garbage', () => {
    const free = frames(6);
    for (let i = 0; i < 6; i++) free[i * frame128 + 2] = (free[i * frame128 + 2] as number) & 0x0f;
    expect(code(free)).toBe('MEDIA_FREE_FORMAT');
    const layer2 = frames(6);
    for (let i = 0; i < 6; i++) {
      layer2[i * frame128 + 1] = 0xfd; // MPEG-1 Layer II, no CRC
      layer2[i * frame128 + 2] = 0x80; // 128 kbit/s in the Layer II table: same 417-byte frames
    }
    expect(code(layer2)).toBe('MEDIA_NOT_LAYER3');
    expect(code(new Uint8Array(5000).fill(0x20))).toBe('MEDIA_NOT_MP3');
  });

  it('checks frame CRCs and counts mismatches (keeping the frames)', () => {
    const good = frames(5, { crc: true });
    expect(ok(good).crcMismatches).toBe(0);
    expect(ok(good).sideInfoEnd[0]).toBe(38);
    good[2 * frame128 + 10] = 0x01; // side information of frame 2
    expect(ok(good).crcMismatches).toBe(1);
    expect(ok(good).frameCount).toBe(5);
  });

  it('reads a Xing/Info + LAME header frame (frames, bytes, delay, padding, tag CRC) and does not count it as audio', () => {
    const xing = buildXingFrame(
      {
        version: 1,
        sampleRate: 44100,
        channels: 2,
        kind: 'Info',
        frames: 7,
        streamBytes: 8 * frame128,
        toc: new Uint8Array(100),
        encoder: 'LAME3.100',
        encoderDelay: 576,
        encoderPadding: 1234,
      },
      128,
    );
    expect(xing.length).toBe(frame128);
    const s = ok(concat(xing, frames(7)));
    expect(s.frameCount).toBe(7);
    expect(s.audioStart).toBe(frame128);
    expect(s.headerFrame?.tag).toEqual({
      kind: 'Info',
      frames: 7,
      bytes: 8 * frame128,
      hasToc: true,
      lame: { encoder: 'LAME3.100', encoderDelay: 576, encoderPadding: 1234, crcOk: true },
    });
    expect([s.encoderDelay, s.encoderPadding]).toEqual([576, 1234]);
    xing[160] = 1; // inside the LAME tag's CRC range
    expect(ok(concat(xing, frames(7))).headerFrame?.tag.lame?.crcOk).toBe(false);
  });

  it('reads a VBRI header frame', () => {
    const first = frames(1);
    const v = first.subarray(36);
    v.set([...'VBRI'].map((c) => c.charCodeAt(0)));
    const dv = new DataView(v.buffer, v.byteOffset);
    dv.setUint16(4, 1);
    dv.setUint32(10, 9 * frame128);
    dv.setUint32(14, 8);
    dv.setUint16(18, 0);
    const s = ok(concat(first, frames(8)));
    expect(s.headerFrame?.tag).toMatchObject({ kind: 'VBRI', frames: 8, bytes: 9 * frame128 });
    expect(s.frameCount).toBe(8);
  });

  it('rounds a time to the nearest frame boundary (half a frame at most)', () => {
    const s = ok(frames(100));
    const frameMs = (1152 / 44100) * 1000; // 26.12 ms
    expect(frameBoundaryAt(s, 0)).toBe(0);
    expect(frameBoundaryAt(s, frameMs * 0.49)).toBe(0);
    expect(frameBoundaryAt(s, frameMs * 0.5)).toBe(1);
    expect(frameBoundaryAt(s, 1000)).toBe(38); // 38.28 frames
    expect(frameBoundaryAt(s, 1e12)).toBe(100);
    expect(boundaryMs(s, 38)).toBeCloseTo(38 * frameMs, 9);
  });

  it('handles MPEG-2 and MPEG-2.5 mono', () => {
    expect(
      ok(frames(5, { version: 2, sampleRate: 22050, channels: 1, bitrateIndex: 8 })).samplesPerFrame,
    ).toBe(576);
    expect(
      ok(frames(5, { version: 2.5, sampleRate: 8000, channels: 1, bitrateIndex: 4 })).profile.mpegVersion,
    ).toBe(2.5);
  });
});

describe('scanMp3 fuzz (seeded; the seed is in the test name)', () => {
  const invariants = (bytes: Uint8Array) => {
    const r = scanMp3(bytes);
    if (!r.ok) {
      expect(r.error.code).toMatch(/^MEDIA_/);
      return;
    }
    const s = r.value;
    // Whatever was scanned can be laid out and assembled, with the stated length.
    const ad = { adId: 'a', profile: s.profile, byteLength: 10, frameCount: 1 };
    const layout = layoutStitch(s, [
      { atMs: 0, ads: [ad] },
      { atMs: s.durationMs / 2, ads: [ad] },
    ]);
    if (!layout.ok) throw layout.error;
    expect(assembleStitch(layout.value, bytes, () => new Uint8Array(10)).length).toBe(
      layout.value.totalBytes,
    );
    expect(s.frameCount).toBeGreaterThan(0);
    for (let i = 0; i < s.frameCount; i++) {
      const o = s.frameOffsets[i] as number;
      expect(o + (s.frameBytes[i] as number)).toBeLessThanOrEqual(bytes.length);
      if (i > 0)
        expect(o).toBeGreaterThanOrEqual((s.frameOffsets[i - 1] as number) + (s.frameBytes[i - 1] as number));
    }
    expect(s.audioEnd).toBeLessThanOrEqual(s.trailingTagsStart);
    expect(detectContainer(bytes.subarray(0, 65536)).container).toBeTypeOf('string');
  };

  // A real encoder's output (lamejs: reservoir off, stereo) behind a real-looking ID3v2 with chapters.
  const real = (() => {
    const n = 44100;
    const pcm = Int16Array.from({ length: n }, (_, i) =>
      Math.round(9000 * Math.sin((2 * Math.PI * 440 * i) / 44100)),
    );
    const enc = new Mp3Encoder(2, 44100, 128);
    const a = enc.encodeBuffer(pcm, pcm);
    const b = enc.flush();
    return concat(
      id3WithFrames(
        4,
        [textFrame('TLEN', '1000'), chapFrame('c0', 0, 500, 'a'), chapFrame('c1', 500, 1000, 'b')],
        20,
      ),
      new Uint8Array(a.buffer, a.byteOffset, a.length),
      new Uint8Array(b.buffer, b.byteOffset, b.length),
    );
  })();
  it('the real file scans cleanly', () => {
    const s = ok(real);
    expect(s.frameCount).toBeGreaterThan(38);
    expect(s.skippedBytes).toBe(0);
    expect(s.id3Timing?.chapters).toHaveLength(2);
  });
  for (const seed of [11, 12, 13]) {
    it(`mutated real lamejs file, seed ${seed}`, () => {
      const rnd = prng(seed);
      for (let n = 0; n < 100; n++) {
        const b = real.slice(0, Math.floor(real.length * (0.3 + 0.7 * rnd())));
        const edits = 1 + Math.floor(rnd() * 30);
        for (let e = 0; e < edits; e++) {
          // Half the edits hit the tag and the first frames, where the parsers are.
          const at =
            rnd() < 0.5 ? Math.floor(rnd() * Math.min(b.length, 1200)) : Math.floor(rnd() * b.length);
          b[at] = rnd() < 0.3 ? 0xff : Math.floor(rnd() * 256);
        }
        invariants(b);
      }
    });
  }

  for (const seed of [1, 2, 3]) {
    it(`random bytes, seed ${seed}`, () => {
      const rnd = prng(seed);
      for (let n = 0; n < 150; n++) {
        const b = new Uint8Array(Math.floor(rnd() * 6000));
        for (let i = 0; i < b.length; i++) b[i] = rnd() < 0.2 ? 0xff : Math.floor(rnd() * 256);
        invariants(b);
      }
    });
    it(`mutated files (ID3 + Xing + frames + ID3v1), seed ${seed}`, () => {
      const rnd = prng(seed * 7919);
      const base = concat(id3v2(40), frames(30), new Uint8Array(128).fill(0x41));
      base.set([0x54, 0x41, 0x47], base.length - 128);
      for (let n = 0; n < 150; n++) {
        const b = base.slice(0, Math.floor(base.length * (0.5 + rnd() / 2)));
        const edits = 1 + Math.floor(rnd() * 20);
        for (let e = 0; e < edits; e++)
          b[Math.floor(rnd() * b.length)] = rnd() < 0.3 ? 0xff : Math.floor(rnd() * 256);
        invariants(b);
      }
    });
  }
});

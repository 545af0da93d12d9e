/**
 * What the node's stitched enclosure needs of the media layer (@swarmcast/media): detect a
 * file's container, scan an MP3, prepare an ad for a profile, lay out a plan. A port so the
 * resolver (dai.ts) reads as the policy it is; `mediaPort()` is the real implementation.
 */
import {
  type AdFrames,
  detectContainer,
  layoutStitch,
  type Mp3Profile,
  type Mp3Scan,
} from '@swarmcast/media';
import { readHead, scanMp3File } from '@swarmcast/media/node';
import type { BodyPart } from '@swarmcast/origin';

export type Verdict<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface LaidOut {
  parts: Array<
    | { kind: 'bytes'; bytes: Uint8Array }
    | { kind: 'content'; start: number; end: number }
    | { kind: 'ad'; adId: string; start: number; end: number }
  >;
  totalBytes: number;
  ads: Array<{ adId: string; byteStart: number; byteEnd: number; startMs: number; endMs: number }>;
  breaks: Array<{ atMs: number; contentMs: number; startMs: number; endMs: number }>;
}

export interface DaiMedia<Scan, Profile, AdMeta> {
  /** null when the file can be stitched, else the sentence shown to the creator. */
  unsupported(path: string): Promise<string | null>;
  scan(path: string): Promise<Verdict<Scan>>;
  profileOf(scan: Scan): Profile;
  profileKey(profile: Profile): string;
  prepare(input: Uint8Array, profile: Profile): Promise<{ bytes: Uint8Array; meta: AdMeta }>;
  layout(
    scan: Scan,
    breaks: Array<{ atMs: number; ads: Array<{ adId: string; meta: AdMeta }> }>,
  ): Verdict<LaidOut>;
}

/** The origin's body parts for a layout: content from the episode file, ads from prepared files. */
export function bodyParts(
  laid: LaidOut,
  contentPath: string,
  adPath: (adId: string) => string,
  adBytes: (adId: string) => Uint8Array | null = () => null,
): BodyPart[] {
  return laid.parts.map((p): BodyPart => {
    if (p.kind === 'bytes') return p;
    if (p.kind === 'content') return { kind: 'file', path: contentPath, start: p.start, end: p.end };
    // Prepared ads are small and shared by every plan: served from memory when held there.
    const held = adBytes(p.adId);
    if (held) return { kind: 'bytes', bytes: held.subarray(p.start, p.end) };
    return { kind: 'file', path: adPath(p.adId), start: p.start, end: p.end };
  });
}

/** What a prepared ad carries besides its frames (the media layer's `PreparedAd`). */
export interface PreparedFrames {
  frames: Uint8Array;
  frameCount: number;
  profile: Mp3Profile;
  kbps: number;
  encoderDelay: number;
  encoderPadding: number;
}

/** The stored meta of a prepared ad: the media layer's AdFrames without the id. */
export type AdMeta = Omit<AdFrames, 'adId'>;

/** A stable file-name-safe key of an MP3 encoding profile. */
export function profileKey(p: Mp3Profile): string {
  return `mpeg${p.mpegVersion}-l3-${p.sampleRate}-${p.channels}ch`;
}

/**
 * The media port over @swarmcast/media: container detection, MP3 scanning and frame-exact
 * layouts. `prepare` is the codec (the media layer's `prepareAd`; tests may pass another).
 */
export function mediaPort(
  prepare: (input: Uint8Array, profile: Mp3Profile) => Promise<PreparedFrames>,
): DaiMedia<Mp3Scan, Mp3Profile, AdMeta> {
  return {
    async unsupported(path) {
      const support = detectContainer(await readHead(path));
      return support.stitchable ? null : support.reason;
    },
    async scan(path) {
      const r = await scanMp3File(path);
      return r.ok ? { ok: true, value: r.value } : { ok: false, reason: r.error.message };
    },
    profileOf: (scan) => scan.profile,
    profileKey,
    async prepare(input, profile) {
      const ad = await prepare(input, profile);
      return {
        bytes: ad.frames,
        meta: {
          profile: ad.profile,
          byteLength: ad.frames.length,
          frameCount: ad.frameCount,
          encoderDelay: ad.encoderDelay,
          encoderPadding: ad.encoderPadding,
          cbrKbps: ad.kbps,
        },
      };
    },
    layout(scan, breaks) {
      const r = layoutStitch(
        scan,
        breaks.map((b) => ({ atMs: b.atMs, ads: b.ads.map((a) => ({ ...a.meta, adId: a.adId })) })),
      );
      if (!r.ok) return { ok: false, reason: r.error.message };
      const l = r.value;
      return {
        ok: true,
        value: {
          parts: l.parts,
          totalBytes: l.totalBytes,
          ads: l.ads.map((a) => ({
            adId: a.adId,
            byteStart: a.byteStart,
            byteEnd: a.byteEnd,
            startMs: a.startMs,
            endMs: a.endMs,
          })),
          breaks: l.breaks
            .filter((b) => b.ads.length > 0)
            .map((b) => ({
              atMs: b.requestedMs,
              contentMs: b.contentMs,
              startMs: b.startMs,
              endMs: b.endMs,
            })),
        },
      };
    },
  };
}

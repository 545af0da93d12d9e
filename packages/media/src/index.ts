export { type Container, detectContainer, type StitchSupport } from './detect.ts';
export { MediaError, type MediaErrorCode, mediaErrors, type Result } from './errors.ts';
export {
  type FrameHeader,
  type HeaderFault,
  type MpegVersion,
  parseFrameHeader,
  versionForSampleRate,
} from './mp3/header.ts';
export type { Id3Chapter, Id3Timing } from './mp3/id3-timing.ts';
export {
  boundaryMs,
  frameBoundaryAt,
  type Mp3Profile,
  type Mp3Scan,
  type ReadRequest,
  type ScanOptions,
  scanMp3,
  scanSteps,
} from './mp3/scan.ts';
export type { LameTag, XingTag } from './mp3/xing.ts';
export {
  adFrames,
  decodeCreative,
  defaultKbps,
  type PreparedAd,
  type PrepareOptions,
  prepareAd,
} from './prepare/prepare-ad.ts';
export { resample, resampler } from './prepare/resample.ts';
export { isWav, type Pcm, parseWav } from './prepare/wav.ts';
export { assembleStitch, partsInRange } from './stitch/assemble.ts';
export {
  type AdBreak,
  type AdFrames,
  type AdSpan,
  type BreakSpan,
  type LayoutOptions,
  layoutStitch,
  type StitchLayout,
  type StitchPart,
  shiftMs,
} from './stitch/layout.ts';

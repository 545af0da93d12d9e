/**
 * The media layer's coded errors (prefix MEDIA_), each listed in docs/errors.md. Scanning and
 * stitching return them as values (`{ ok: false, error }`); nothing here throws on bad input.
 */
export const mediaErrors = {
  MEDIA_EMPTY: 'the file holds no bytes (or only tags)',
  MEDIA_NOT_MP3: 'no run of valid MPEG audio frames was found',
  MEDIA_NOT_LAYER3: 'the MPEG audio is Layer I or II; only Layer III (MP3) is stitched',
  MEDIA_FREE_FORMAT: 'the MP3 uses free-format bitrate frames, which cannot be measured without decoding',
  MEDIA_TOO_LARGE: 'the file is larger than the scanner handles (4 GiB) or has too many frames',
  MEDIA_UNSUPPORTED: 'the container or codec cannot be stitched (MP4/M4A, AAC, Ogg, FLAC, WAV as an episode)',
  MEDIA_PROFILE_MISMATCH: 'an ad was prepared for another encoding profile than the content',
  MEDIA_BAD_INSERT: 'an insert point is not a finite, non-negative number of milliseconds',
  MEDIA_DECODE_FAILED: 'a creative could not be decoded (not MP3 or PCM WAV, or corrupt)',
  MEDIA_BAD_PROFILE: 'an encoding profile no MP3 encoder can produce (sample rate, channels, bitrate)',
} as const;

export type MediaErrorCode = keyof typeof mediaErrors;

/** An expected failure of the media layer: returned, or thrown only by the async preparers. */
export class MediaError extends Error {
  readonly code: MediaErrorCode;
  constructor(code: MediaErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = 'MediaError';
    this.code = code;
  }
}

/** A result that is either a value or a coded error; parsers of outside bytes return this. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: MediaError };

export function fail<T>(code: MediaErrorCode, message: string): Result<T> {
  return { ok: false, error: new MediaError(code, message) };
}

/**
 * The catalog's coded errors (prefix CAT_), each listed in docs/errors.md with what to do.
 * Expected failures travel as {@link Failure} values; `status` is the HTTP status an API
 * answers with, so the web layer never has to guess.
 */
export const catalogErrors = {
  CAT_BAD_INPUT: { status: 400, meaning: 'a field is missing, too long or malformed' },
  CAT_UNAUTHENTICATED: { status: 401, meaning: 'no valid session or API token' },
  CAT_BAD_CREDENTIALS: { status: 401, meaning: 'the email or password is wrong' },
  CAT_SUSPENDED: { status: 403, meaning: 'an admin suspended this account' },
  CAT_TAKEN_DOWN: { status: 410, meaning: 'an admin took this show or episode down' },
  CAT_FORBIDDEN: { status: 403, meaning: 'the account may not touch this show or episode' },
  CAT_NOT_FOUND: { status: 404, meaning: 'no such show, episode or upload' },
  CAT_EMAIL_TAKEN: { status: 409, meaning: 'an account with this email already exists' },
  CAT_SLUG_TAKEN: { status: 409, meaning: 'a show with this slug already exists' },
  CAT_UPLOAD_TOO_LARGE: { status: 413, meaning: 'the upload is larger than the node allows' },
  CAT_UPLOAD_TRUNCATED: { status: 400, meaning: 'the upload ended before its declared length' },
  CAT_NOT_MEDIA: { status: 415, meaning: 'the file is not audio or video we can probe' },
  CAT_BAD_AD_BREAKS: { status: 422, meaning: 'an ad break is outside the episode or malformed' },
  CAT_BAD_FEED: { status: 422, meaning: 'the feed to import is not RSS 2.0 we can read' },
  CAT_FEED_LOCKED: { status: 403, meaning: 'the feed is podcast:locked to another owner e-mail' },
  CAT_FETCH_FAILED: { status: 422, meaning: 'fetching a feed, enclosure or linked file failed' },
  CAT_BAD_TRANSCRIPT: {
    status: 422,
    meaning: 'the transcript is not SRT, WebVTT or Podcasting 2.0 JSON we can read',
  },
  CAT_TORRENT_FAILED: { status: 500, meaning: 'making the torrent or starting to seed failed' },
} as const;

export type CatalogErrorCode = keyof typeof catalogErrors;

/** An expected failure, as a value. */
export interface Failure {
  ok: false;
  code: CatalogErrorCode;
  message: string;
  status: number;
}

export type Result<T> = { ok: true; value: T } | Failure;

export function fail(code: CatalogErrorCode, message: string): Failure {
  return { ok: false, code, message, status: catalogErrors[code].status };
}

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

/**
 * The ad server's coded errors (prefix `ADS_`). Codes are never reused; each is listed in
 * docs/errors.md (checked by test/errors.test.ts). Expected failures travel as values
 * carrying one of these codes; HTTP handlers map them to the status given here.
 */
export const adsErrors = {
  ADS_TOKEN_MALFORMED: {
    status: 400,
    message: 'decision token is not two base64url parts with valid claims',
  },
  ADS_TOKEN_UNKNOWN_KEY: { status: 401, message: 'decision token names a signing key we do not know' },
  ADS_TOKEN_FORGED: { status: 401, message: 'decision token signature does not match its claims' },
  ADS_TOKEN_EXPIRED: { status: 401, message: 'decision token is past its expiry' },
  ADS_BAD_REQUEST: { status: 400, message: 'malformed request parameters' },
  ADS_NOT_FOUND: { status: 404, message: 'no such advertiser, campaign, line item or creative' },
  ADS_CREATIVE_TOO_LARGE: { status: 413, message: 'creative file is larger than the limit' },
  ADS_CREATIVE_NOT_MEDIA: { status: 415, message: 'creative file is not an audio or video file we accept' },
  ADS_FORBIDDEN: { status: 403, message: 'this action needs the admin token' },
  ADS_UNAUTHENTICATED: {
    status: 401,
    message: 'log in, or send an API token (Authorization: Bearer), as an advertiser or admin',
  },
  ADS_NOT_ADVERTISER: { status: 403, message: 'this account is not an advertiser or admin account' },
  ADS_CROSS_ORIGIN: { status: 403, message: 'a session-authenticated change must come from this site' },
  ADS_SHARED_STATE_UNAVAILABLE: {
    status: 503,
    message:
      'the ad counters shared by every process (Redis, REDIS_URL) cannot be reached, so delivery cannot be reported; start Redis or correct REDIS_URL, then try again',
  },
} as const;

export type AdsErrorCode = keyof typeof adsErrors;

/** An expected failure as a value. */
export interface AdsError {
  code: AdsErrorCode;
  message: string;
}

export function adsError(code: AdsErrorCode, detail?: string): AdsError {
  const base = adsErrors[code].message;
  return { code, message: detail ? `${base}: ${detail}` : base };
}

/**
 * A failure carrying its code to the HTTP layer, which answers with the code's status and
 * message (never the cause's text); the cause goes to the log.
 */
export class AdsFailure extends Error {
  constructor(
    readonly code: AdsErrorCode,
    cause?: unknown,
  ) {
    super(adsErrors[code].message, { cause });
    this.name = 'AdsFailure';
  }
}

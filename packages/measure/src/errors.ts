/** Coded errors of measurement (listed in docs/errors.md; codes are never reused). */
export const measureErrors = {
  MEA_BAD_BEACON: { status: 400, message: 'play beacon rejected (malformed, wrong version or out of range)' },
  MEA_OVERLOADED: {
    status: 503,
    message: 'the collector is busy or the stream is unavailable; nothing was stored',
  },
  MEA_BAD_REQUEST: { status: 400, message: 'malformed report parameters' },
  MEA_UNAUTHENTICATED: { status: 401, message: 'sign in (session cookie or API token) to read reports' },
  MEA_FORBIDDEN: { status: 403, message: 'not allowed to read this report' },
  MEA_NOT_FOUND: { status: 404, message: 'unknown show, episode, campaign or creator' },
  MEA_NOT_ISSUED: {
    status: 404,
    message: 'the statement of a day is issued two hours after the day ends (UTC); ask again then',
  },
} as const;

export type MeasureErrorCode = keyof typeof measureErrors;

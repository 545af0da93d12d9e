/**
 * Coded errors of the protocol library. Expected failures (hostile bytes, a bad tracker
 * reply, a timeout) are returned as values of these, never thrown; every code is listed
 * in docs/errors.md (a test checks it) and is never reused.
 */
export type BtErrorCode = `BT_${string}`;

/** An expected failure, as a value. */
export interface BtError {
  readonly code: BtErrorCode;
  readonly message: string;
  readonly cause?: unknown;
}

/** The outcome of a fallible operation on outside input. */
export type Result<T, E = BtError> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: E };

export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

export function fail(
  code: BtErrorCode,
  message: string,
  cause?: unknown,
): { readonly ok: false; readonly error: BtError } {
  return { ok: false, error: cause === undefined ? { code, message } : { code, message, cause } };
}

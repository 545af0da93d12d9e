/**
 * The platform's coded errors (prefix PLT_), each listed in docs/errors.md. Expected
 * failures of I/O are returned or emitted by the callers that can act on them; these are
 * thrown only where the operator must fix something (a bad setting, an edited migration).
 */
export const platformErrors = {
  PLT_CONFIG_INVALID: 'a configuration value is malformed or out of range',
  PLT_MIGRATION_CHANGED: 'an applied migration was edited after it ran (checksum differs)',
  PLT_MIGRATION_DUPLICATE: 'two migrations share one id',
  PLT_DB_CLOSED: 'the database handle was used after close()',
  PLT_DB_UNAVAILABLE:
    'the database cannot be reached right now (down, restarting, connection lost); answered 503',
  PLT_DB_LOCKED: 'another live process holds the embedded database directory',
  PLT_DB_VALUE_RANGE: 'an int8 value does not fit a JS number (beyond 2^53)',
  PLT_STREAM_CLOSED: 'the event stream was used after close()',
  PLT_STREAM_UNAVAILABLE: 'the NATS server of the event stream cannot be reached at start',
  PLT_STREAM_LOCKED: 'another live process holds the embedded event stream directory',
  PLT_STREAM_BAD_EVENT: 'an event is not serialisable or lacks an id or subject',
  PLT_WAL_CORRUPT: 'a write-ahead segment holds a damaged record before its tail',
  PLT_ADDRESS_LIST_INVALID: 'a line of the data-centre CIDR list is not a valid range',
} as const;

export type PlatformErrorCode = keyof typeof platformErrors;

export class PlatformError extends Error {
  readonly code: PlatformErrorCode;
  constructor(code: PlatformErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = 'PlatformError';
    this.code = code;
  }
}

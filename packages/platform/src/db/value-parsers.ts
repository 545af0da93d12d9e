import { PlatformError } from '../errors.ts';

/**
 * One set of text-format parsers for both engines, so a row reads the same whether it came
 * from PGlite or PostgreSQL (see db.ts for the promised types). Keyed by type OID.
 */
const INT8 = 20;
const DATE = 1082;
const TIMESTAMP = 1114;
const NUMERIC = 1700;

function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) {
    throw new PlatformError('PLT_DB_VALUE_RANGE', `int8 value ${text} does not fit a JS number`);
  }
  return n;
}

/** A date is a calendar day: UTC midnight, never the local zone of the process. */
function parseDate(text: string): Date | string {
  const d = new Date(`${text}T00:00:00Z`);
  return Number.isNaN(d.getTime()) ? text : d;
}

/** timestamp without time zone is read as UTC (we only ever store UTC). */
function parseTimestamp(text: string): Date | string {
  const d = new Date(`${text.replace(' ', 'T')}Z`);
  return Number.isNaN(d.getTime()) ? text : d;
}

export const sharedParsers: Record<number, (text: string) => unknown> = {
  [INT8]: parseInt8,
  [DATE]: parseDate,
  [TIMESTAMP]: parseTimestamp,
  [NUMERIC]: (text) => text,
};

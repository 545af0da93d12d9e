/**
 * True when an error means "the database cannot be reached right now" (down, restarting,
 * connection reset, out of connection slots) rather than a bad query: callers answer 503 and
 * retry later instead of 500. PostgreSQL SQLSTATE class 08 (connection exception), 57P01-03
 * (shutdown, crash shutdown, cannot connect now), 53300 (too many connections); socket
 * errors; and the pg driver's own texts for a connection it lost or could not get in time.
 */
export function isDbUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (code === 'PLT_DB_UNAVAILABLE') return true;
      if (code.startsWith('08') && code.length === 5) return true;
      if (code === '57P01' || code === '57P02' || code === '57P03' || code === '53300') return true;
      if (socketCodes.has(code)) return true;
    }
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && driverTexts.some((t) => message.includes(t))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

const socketCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
]);

const driverTexts = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Client was closed and is not queryable',
];

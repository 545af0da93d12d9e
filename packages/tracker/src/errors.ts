/**
 * The tracker's coded errors. Each is an expected failure returned as a value and shown to
 * the client as its BEP 3 "failure reason" (HTTP and WebSocket) or BEP 15 error packet
 * (UDP). The messages are short and plain because clients display them verbatim
 * (qBittorrent in its tracker list, Transmission in its status line, aria2 in its log).
 * Codes are never reused; each is listed in docs/errors.md.
 */
export const trackerErrors = {
  TRK_BAD_INFO_HASH: 'invalid info_hash (must be 20 bytes)',
  TRK_BAD_PEER_ID: 'invalid peer_id (must be 20 bytes)',
  TRK_BAD_PORT: 'invalid port',
  TRK_BAD_EVENT: 'invalid event',
  TRK_BAD_NUMBER: 'invalid uploaded, downloaded or left',
  TRK_BAD_REQUEST: 'malformed request',
  TRK_UNKNOWN_ACTION: 'unknown action',
  TRK_BAD_CONNECTION_ID: 'connection id expired or invalid',
  TRK_RATE_LIMITED: 'too many requests, slow down',
  TRK_UNKNOWN_PASSKEY: 'unknown passkey',
  TRK_NOT_REGISTERED: 'torrent not registered with this tracker',
  TRK_TOO_MANY_HASHES: 'too many info_hash values in one scrape',
  TRK_FULL: 'tracker is full, try again later',
  TRK_PEER_ID_TAKEN: 'this peer id is announced in this swarm by another connection',
  TRK_STORE_UNAVAILABLE: 'tracker storage unavailable, try again later',
} as const;

export type TrackerErrorCode = keyof typeof trackerErrors;

/** An expected failure: the client gets `message` as its failure reason. */
export interface TrackerError {
  error: TrackerErrorCode;
  message: string;
}

export function trackerError(code: TrackerErrorCode): TrackerError {
  return { error: code, message: trackerErrors[code] };
}

export function isTrackerError(value: unknown): value is TrackerError {
  return typeof value === 'object' && value !== null && 'error' in value && 'message' in value;
}

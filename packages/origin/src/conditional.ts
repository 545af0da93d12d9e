/**
 * Conditional requests on a file (RFC 9110 section 13), pure. Our validators: a strong
 * ETag from size and modification time (published files do not change in place), and
 * Last-Modified at one-second resolution.
 */
export interface Validators {
  etag: string;
  /** Modification time in ms. */
  mtimeMs: number;
}

export function etagOf(size: number, mtimeMs: number): string {
  return `"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}"`;
}

export function httpDate(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toUTCString();
}

function parseDate(value: string | undefined): number | null {
  if (!value || value.length > 100) return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : t;
}

function etagList(header: string): string[] {
  return header
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Weak comparison, for If-None-Match: W/"x" matches "x". */
function weakMatch(list: string[], etag: string): boolean {
  const bare = (t: string) => (t.startsWith('W/') ? t.slice(2) : t);
  return list.some((t) => t === '*' || bare(t) === bare(etag));
}

/** True when a GET/HEAD should be answered 304 Not Modified. */
export function notModified(
  headers: { 'if-none-match'?: string; 'if-modified-since'?: string },
  v: Validators,
): boolean {
  const inm = headers['if-none-match'];
  if (inm !== undefined) return weakMatch(etagList(inm), v.etag);
  const ims = parseDate(headers['if-modified-since']);
  if (ims === null) return false;
  return Math.floor(v.mtimeMs / 1000) * 1000 <= ims;
}

/**
 * If-Range: honour the Range only if the client's validator is still current. An ETag
 * must match strongly (a weak one never does); a date must equal Last-Modified exactly.
 */
export function rangeStillValid(ifRange: string | undefined, v: Validators): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return value === v.etag;
  const t = parseDate(value);
  return t !== null && t === Math.floor(v.mtimeMs / 1000) * 1000;
}

import { toHex } from '../bytes.ts';
import { fail, type Result } from '../errors.ts';
import { parseAnnounceReply, parseScrapeReply } from './http-response.ts';
import type { AnnounceParams, AnnounceReply, Announcer, ScrapeEntry } from './types.ts';

/** The fetch we need (globalThis.fetch in browsers and Node >= 18). */
export type FetchLike = (
  url: string,
  init: { signal?: AbortSignal; headers?: Record<string, string> },
) => Promise<{
  ok: boolean;
  status: number;
  arrayBuffer(): Promise<ArrayBuffer>;
}>;

/** Percent-encodes raw bytes for a query string (info_hash, peer_id). */
export function percentBytes(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9.\-_~]/.test(c) ? c : `%${b.toString(16).padStart(2, '0').toUpperCase()}`;
  }
  return out;
}

/** The announce URL for `params` (BEP 3 with compact=1). Keeps the tracker URL's own query (passkeys). */
export function announceUrl(base: string, p: AnnounceParams): string {
  const q = [
    `info_hash=${percentBytes(p.infoHash)}`,
    `peer_id=${percentBytes(p.peerId)}`,
    `port=${p.port}`,
    `uploaded=${p.uploaded}`,
    `downloaded=${p.downloaded}`,
    `left=${p.left}`,
    'compact=1',
    `numwant=${p.numwant ?? 50}`,
  ];
  if (p.event) q.push(`event=${p.event}`);
  if (p.key !== undefined) q.push(`key=${(p.key >>> 0).toString(16)}`);
  if (p.trackerId !== undefined) q.push(`trackerid=${encodeURIComponent(p.trackerId)}`);
  return `${base}${base.includes('?') ? '&' : '?'}${q.join('&')}`;
}

/** BEP 48 convention: the scrape URL replaces the last "announce" path segment; null if there is none. */
export function scrapeUrl(announce: string): string | null {
  const slash = announce.lastIndexOf('/');
  const rest = announce.slice(slash + 1);
  if (!rest.startsWith('announce')) return null;
  return `${announce.slice(0, slash + 1)}scrape${rest.slice('announce'.length)}`;
}

const MAX_REPLY = 4 * 1024 * 1024;

async function get(
  fetchFn: FetchLike,
  url: string,
  signal: AbortSignal | undefined,
  timeoutMs: number,
): Promise<Result<Uint8Array>> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    const res = await fetchFn(url, { signal: combined });
    if (!res.ok) return fail('BT_TRACKER_HTTP_STATUS', `tracker answered HTTP ${res.status}`);
    const body = new Uint8Array(await res.arrayBuffer());
    if (body.length > MAX_REPLY)
      return fail('BT_TRACKER_BAD_REPLY', `tracker reply of ${body.length} bytes is too large`);
    return { ok: true, value: body };
  } catch (cause) {
    if (timeout.aborted)
      return fail('BT_TRACKER_TIMEOUT', `tracker did not answer within ${timeoutMs} ms`, cause);
    return fail('BT_TRACKER_UNREACHABLE', `tracker unreachable: ${(cause as Error).message}`, cause);
  }
}

/** An HTTP(S) tracker client over fetch (core: browsers and Node). */
export class HttpTracker implements Announcer {
  constructor(
    readonly url: string,
    private readonly fetchFn: FetchLike = globalThis.fetch as unknown as FetchLike,
    private readonly timeoutMs = 15_000,
  ) {}

  async announce(params: AnnounceParams, signal?: AbortSignal): Promise<Result<AnnounceReply>> {
    const body = await get(this.fetchFn, announceUrl(this.url, params), signal, this.timeoutMs);
    return body.ok ? parseAnnounceReply(body.value) : body;
  }

  async scrape(
    infoHashes: readonly Uint8Array[],
    signal?: AbortSignal,
  ): Promise<Result<ReadonlyMap<string, ScrapeEntry>>> {
    const base = scrapeUrl(this.url);
    if (!base)
      return fail('BT_TRACKER_NO_SCRAPE', `${this.url} has no scrape URL (no "announce" path segment)`);
    const q = infoHashes.map((h) => `info_hash=${percentBytes(h)}`).join('&');
    const body = await get(
      this.fetchFn,
      `${base}${base.includes('?') ? '&' : '?'}${q}`,
      signal,
      this.timeoutMs,
    );
    if (!body.ok) return body;
    const parsed = parseScrapeReply(body.value);
    if (!parsed.ok) return parsed;
    // keep only what we asked for
    const wanted = new Set(infoHashes.map(toHex));
    return { ok: true, value: new Map([...parsed.value].filter(([k]) => wanted.has(k))) };
  }
}

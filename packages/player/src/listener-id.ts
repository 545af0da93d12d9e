/**
 * The listener id: random, stored locally, rotated, and absent under Do-Not-Track or
 * Global Privacy Control.
 *
 * Rules:
 * 1. `navigator.doNotTrack === '1'` or `navigator.globalPrivacyControl === true` -> no id
 *    at all (null), and any stored id is forgotten.
 * 2. Otherwise the stored id is used while it was made in the current UTC calendar month;
 *    one from an earlier month (or the future), a missing or malformed record gets a fresh
 *    id. Rotating on the calendar month, not 30 days after creation, is what lets
 *    measurement count unique listeners per month exactly: every browser has one id per
 *    month, and ids of different months cannot be linked (docs/measurement-methodology.md).
 * 3. An id is 128 random bits as 32 lowercase hex digits (matches the collector's id pattern).
 * Storage, clock and random come from the caller; storage failures (private mode, quota)
 * give a per-page id rather than none (rule 1 is the only way to have none).
 */

export interface PrivacySignals {
  doNotTrack?: string | null;
  globalPrivacyControl?: boolean;
}

/** The subset of `Storage` (localStorage) used; may throw like the real one. */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export const listenerIdKey = 'swarmcast.listener';

/** The UTC calendar month of a time, as a number (year * 12 + month). */
export function utcMonthOf(ms: number): number {
  const d = new Date(ms);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
}

/** Whether the browser asks not to be tracked (DNT or GPC). */
export function privacyWithholds(p: PrivacySignals): boolean {
  return p.doNotTrack === '1' || p.globalPrivacyControl === true;
}

/** 32 hex digits from 16 random bytes (pass `crypto.getRandomValues`-filled bytes). */
export function newListenerId(randomBytes: (n: number) => Uint8Array): string {
  return Array.from(randomBytes(16), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The id to use now (rules in the file comment); null when withheld. */
export function listenerId(
  privacy: PrivacySignals,
  store: KeyValueStore,
  nowMs: number,
  randomBytes: (n: number) => Uint8Array,
): string | null {
  if (privacyWithholds(privacy)) {
    try {
      store.removeItem(listenerIdKey);
    } catch {
      // Nothing stored to forget.
    }
    return null;
  }
  let raw: string | null = null;
  try {
    raw = store.getItem(listenerIdKey);
  } catch {
    raw = null;
  }
  const m = raw === null ? null : /^([0-9a-f]{32})\.(\d{1,15})$/.exec(raw);
  if (m) {
    const createdAt = Number(m[2]);
    if (createdAt <= nowMs && utcMonthOf(createdAt) === utcMonthOf(nowMs)) return m[1] as string;
  }
  const id = newListenerId(randomBytes);
  try {
    store.setItem(listenerIdKey, `${id}.${nowMs}`);
  } catch {
    // Storage refused (private mode, quota): the id lives for this page only.
  }
  return id;
}

/**
 * `url` with `lid=<id>` set, for the VMAP request (the VMAP passes it on in every break's
 * VAST tag; frequency caps count per id). A relative URL stays relative; a withheld id
 * (null) leaves the URL unchanged.
 */
export function withListenerId(url: string, lid: string | null, base: string): string {
  if (lid === null) return url;
  const u = new URL(url, base);
  u.searchParams.set('lid', lid);
  return /^([a-z][a-z0-9+.-]*:|\/\/)/i.test(url) ? u.toString() : `${u.pathname}${u.search}${u.hash}`;
}

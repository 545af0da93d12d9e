/**
 * The read window of a media URL marked for the swarm: how a browser player starts on the
 * origin at once and moves its reads to the swarm without changing the element's source.
 *
 * The player marks the origin URL with `?sc-p2p=<stream key>`. An origin that sees the mark
 * answers an open-ended Range (`bytes=N-`) with at most `p2pWindowBytes` bytes (a 206 whose
 * Content-Range ends early, as RFC 9110 section 14.1.2 lets a client expect fewer bytes than
 * it asked for); the browser follows with a request for the rest, which the player's Service
 * Worker can answer from the swarm once it runs. A closed range is answered as asked.
 * Shared by the player (browser) and the origin (Node), so both agree on the name and size.
 */

/** The query parameter that marks a media request the swarm may answer (value: the stream key). */
export const p2pParam = 'sc-p2p';

/** Largest answer to an open-ended range of a marked URL: 512 KiB, well past the first frame. */
export const p2pWindowBytes = 512 * 1024;

/** Whether a Range header asks for everything from a byte on (`bytes=N-`). */
export function openEnded(rangeHeader: string | null | undefined): boolean {
  return /^\s*bytes\s*=\s*\d+\s*-\s*$/i.test(rangeHeader ?? '');
}

/**
 * The last byte to send for a range [start, end] of a request whose Range header was
 * `rangeHeader`: `end`, or the end of the window when the range was open-ended and the URL
 * carries the mark.
 */
export function windowedEnd(
  marked: boolean,
  rangeHeader: string | null | undefined,
  start: number,
  end: number,
): number {
  if (!marked || !openEnded(rangeHeader)) return end;
  return Math.min(end, start + p2pWindowBytes - 1);
}

/**
 * The query parameter with the episode's duration in whole seconds, which the player adds
 * when it knows it: with the file's size it gives the origin the media's byte rate, so the
 * start-up hold below never outlasts what the first window lets the element play.
 */
export const p2pDurationParam = 'sc-dur';

/** The longest start-up hold: about what a first visit on a slow machine takes to have its swarm engine answer. */
export const p2pMaxHoldMs = 2000;
/** Size of the one read answered at the end of a hold: small, so the element's next read comes soon and can go to the swarm. */
export const p2pHeldWindowBytes = 64 * 1024;
/** Byte rate assumed when the duration is unknown: 2 Mbit/s, more than any podcast and most show video. */
const assumedBytesPerSecond = 250_000;

/** How to answer one marked open-ended read: wait this long first, then send up to `end`. */
export interface MarkedRead {
  waitMs: number;
  end: number;
}

/**
 * The start-up hold for marked reads (the P2P player's first visit).
 *
 * On a first visit the Service Worker and the swarm engine start after the first frame, and
 * until they answer, every read of the media element goes to the origin: the element reads
 * ahead as fast as the network lets it, so on a short episode or a fast link most of the
 * file came from the origin before the swarm could carry any of it, and the engine then
 * fetched the same bytes again (the player bench saw the origin send more than one copy per
 * listener with five listeners). So, for a short while after a client's first window, its
 * continuation reads (those that start inside the first two windows: a seek or a read of
 * an index at the file's end is never held) wait, then get one small window; the element's
 * following read comes when the engine is likely to answer it. The hold is at most half of
 * the play time the first window holds, so playback never starves on it, and at most
 * `p2pMaxHoldMs`. Clients are told apart by a string the caller derives (stream key and
 * listener); a read from byte 0 starts a client's hold anew. Bounded: at most `maxClients`
 * remembered, oldest forgotten first, each for a minute.
 */
export class MarkedReads {
  readonly #clients = new Map<string, { firstAt: number; holdMs: number }>();
  readonly #now: () => number;
  readonly #maxClients: number;
  readonly #maxHoldMs: number;

  constructor(o: { now?: () => number; maxClients?: number; maxHoldMs?: number } = {}) {
    this.#now = o.now ?? Date.now;
    this.#maxClients = o.maxClients ?? 20_000;
    this.#maxHoldMs = o.maxHoldMs ?? p2pMaxHoldMs;
  }

  /**
   * For a marked read [start, end] (open-ended: `end` is the file's last byte) of a file of
   * `size` bytes by `client`; `durationSeconds` from `p2pDurationParam` when the URL had it.
   */
  plan(client: string, start: number, end: number, size: number, durationSeconds?: number): MarkedRead {
    const now = this.#now();
    const windowEnd = Math.min(end, start + p2pWindowBytes - 1);
    if (start === 0) {
      const rate =
        durationSeconds !== undefined && durationSeconds > 0 ? size / durationSeconds : assumedBytesPerSecond;
      const playableMs = (1000 * (windowEnd + 1)) / Math.max(rate, 1);
      this.#clients.delete(client);
      this.#clients.set(client, { firstAt: now, holdMs: Math.min(this.#maxHoldMs, playableMs / 2) });
      this.#forgetOld(now);
      return { waitMs: 0, end: windowEnd };
    }
    const c = this.#clients.get(client);
    const until = c ? c.firstAt + c.holdMs : 0;
    if (!c || now >= until || start >= 2 * p2pWindowBytes) return { waitMs: 0, end: windowEnd };
    return { waitMs: until - now, end: Math.min(end, start + p2pHeldWindowBytes - 1) };
  }

  #forgetOld(now: number): void {
    for (const [k, c] of this.#clients) {
      if (this.#clients.size <= this.#maxClients && now - c.firstAt < 60_000) break;
      this.#clients.delete(k);
    }
  }
}

/** The duration hint of a marked URL's query value, in seconds; undefined when absent or not a sane number. */
export function durationHint(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^\d{1,7}$/.test(value)) return undefined;
  const n = Number(value);
  return n > 0 ? n : undefined;
}

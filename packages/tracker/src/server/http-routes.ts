/**
 * The tracker's HTTP routes as one transport-free function, shared by the standalone
 * node:http server and the Fastify plugin: path + query in, status + body out.
 */
import {
  decodeHttpAnnounce,
  decodeHttpScrape,
  encodeHttpAnnounce,
  encodeHttpFailure,
  encodeHttpScrape,
} from '../codec/http.ts';
import type { AnnounceOutcome } from '../core/tracker-core.ts';
import { isTrackerError, trackerErrors } from '../errors.ts';
import type { Tracker } from '../tracker.ts';
import type { AnnounceRequest } from '../types.ts';

export interface HttpReply {
  status: number;
  contentType: string;
  body: Uint8Array | string;
}

const plain = 'text/plain; charset=utf-8';

/** How long /stats and /metrics wait on the swarm store before answering 503. */
const storeDeadlineMs = 5_000;

/**
 * The store's answer, or `null` when it failed or did not come in time (Redis down or
 * stalled): those routes answer 503 with the code, never hang or 500.
 */
function fromStore<T>(work: Promise<T>): Promise<T | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), storeDeadlineMs);
    timer.unref?.();
    work.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      () => {
        clearTimeout(timer);
        resolve(null);
      },
    );
  });
}

const storeUnavailable = (json: boolean): HttpReply => ({
  status: 503,
  contentType: json ? 'application/json' : plain,
  body: json
    ? JSON.stringify({
        error: { code: 'TRK_STORE_UNAVAILABLE', message: trackerErrors.TRK_STORE_UNAVAILABLE },
      })
    : `TRK_STORE_UNAVAILABLE ${trackerErrors.TRK_STORE_UNAVAILABLE}\n`,
});

/** Splits `/announce`, `/scrape` and `/<passkey>/announce|scrape`. */
export function routeOf(path: string): {
  route: 'announce' | 'scrape' | 'stats' | 'metrics' | null;
  passkey: string | null;
} {
  if (path === '/announce') return { route: 'announce', passkey: null };
  if (path === '/scrape') return { route: 'scrape', passkey: null };
  if (path === '/stats') return { route: 'stats', passkey: null };
  if (path === '/metrics') return { route: 'metrics', passkey: null };
  const m = /^\/([A-Za-z0-9_-]{8,128})\/(announce|scrape)$/.exec(path);
  if (m) return { route: m[2] as 'announce' | 'scrape', passkey: m[1]! };
  return { route: null, passkey: null };
}

/** Answers one request; never throws for anything a client can send. */
export async function answerHttp(
  tracker: Tracker,
  url: string,
  ip: string,
  userAgent: string | null,
): Promise<HttpReply | null> {
  return answerHttpSoon(tracker, url, ip, userAgent);
}

/** The bencoded answer to an announce outcome, whether it was taken or refused. */
function announceReply(request: AnnounceRequest, result: AnnounceOutcome): HttpReply {
  if (isTrackerError(result)) {
    const retry = result.error === 'TRK_RATE_LIMITED' || result.error === 'TRK_FULL' ? 1 : undefined;
    return { status: 200, contentType: plain, body: encodeHttpFailure(result, retry) };
  }
  return { status: 200, contentType: plain, body: encodeHttpAnnounce(result, request) };
}

/**
 * The same as `answerHttp`, answered synchronously when it can be: an announce to a public
 * tracker whose store answers at once (`TrackerCore.announceSoon`), as the UDP server does.
 * The standalone server calls this so that the common announce costs no promise and no
 * microtask hop before its answer is written; everything else gives a promise.
 */
export function answerHttpSoon(
  tracker: Tracker,
  url: string,
  ip: string,
  userAgent: string | null,
): HttpReply | null | Promise<HttpReply | null> {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q + 1);
  const { route, passkey } = routeOf(path);
  if (route !== 'announce') return answerOther(tracker, route, passkey, query, ip, userAgent);
  const request = decodeHttpAnnounce(query, { ip, passkey, userAgent }, tracker.limits);
  if (isTrackerError(request)) {
    tracker.metrics.error(request.error);
    return { status: 200, contentType: plain, body: encodeHttpFailure(request) };
  }
  const result = tracker.core.announceSoon(request);
  return result instanceof Promise
    ? result.then((r) => announceReply(request, r))
    : announceReply(request, result);
}

/** Scrape, /stats, /metrics, or null for any other path. */
async function answerOther(
  tracker: Tracker,
  route: ReturnType<typeof routeOf>['route'],
  passkey: string | null,
  query: string,
  ip: string,
  userAgent: string | null,
): Promise<HttpReply | null> {
  const core = tracker.core;
  switch (route) {
    case 'scrape': {
      const request = decodeHttpScrape(query, { ip, passkey, userAgent }, tracker.limits);
      if (isTrackerError(request)) {
        tracker.metrics.error(request.error);
        return { status: 200, contentType: plain, body: encodeHttpFailure(request) };
      }
      const result = await core.scrape(request);
      if (isTrackerError(result)) return { status: 200, contentType: plain, body: encodeHttpFailure(result) };
      return { status: 200, contentType: plain, body: encodeHttpScrape(result) };
    }
    case 'stats': {
      const stats = await fromStore(tracker.statsJson());
      if (stats === null) return storeUnavailable(true);
      return { status: 200, contentType: 'application/json', body: JSON.stringify(stats) };
    }
    case 'metrics': {
      const text = await fromStore(tracker.metricsText());
      if (text === null) return storeUnavailable(false);
      return { status: 200, contentType: 'text/plain; version=0.0.4; charset=utf-8', body: text };
    }
    default:
      return null;
  }
}

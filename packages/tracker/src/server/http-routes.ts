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
import { isTrackerError } from '../errors.ts';
import type { Tracker } from '../tracker.ts';

export interface HttpReply {
  status: number;
  contentType: string;
  body: Uint8Array | string;
}

const plain = 'text/plain; charset=utf-8';

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
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q + 1);
  const { route, passkey } = routeOf(path);
  const core = tracker.core;
  switch (route) {
    case 'announce': {
      const request = decodeHttpAnnounce(query, { ip, passkey, userAgent }, tracker.limits);
      if (isTrackerError(request)) {
        tracker.metrics.error(request.error);
        return { status: 200, contentType: plain, body: encodeHttpFailure(request) };
      }
      const result = await core.announce(request);
      if (isTrackerError(result)) {
        const retry = result.error === 'TRK_RATE_LIMITED' || result.error === 'TRK_FULL' ? 1 : undefined;
        return { status: 200, contentType: plain, body: encodeHttpFailure(result, retry) };
      }
      return { status: 200, contentType: plain, body: encodeHttpAnnounce(result, request) };
    }
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
    case 'stats':
      return {
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify(await tracker.statsJson()),
      };
    case 'metrics':
      return {
        status: 200,
        contentType: 'text/plain; version=0.0.4; charset=utf-8',
        body: await tracker.metricsText(),
      };
    default:
      return null;
  }
}

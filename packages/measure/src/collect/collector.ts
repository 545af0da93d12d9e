import { hash } from 'node:crypto';
import type { Clock, EventStream } from '@swarmcast/platform';
import { eventBatches, GroupCommit, trustedCountry } from '@swarmcast/platform';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type AdBeaconEvent, type EdgeInfo, type PlayBeaconEvent, subjects } from '../beacon-types.ts';
import { type AdBeaconQuery, parseAdBeacon, parsePlayBeacon } from './parse-beacons.ts';

/** Classifies the sender at the edge; the raw IP and user agent go no further. */
export type EdgeClassifier = (ip: string, userAgent: string, now: number) => EdgeInfo | Promise<EdgeInfo>;

export interface CollectorOptions {
  stream: EventStream;
  edge: EdgeClassifier;
  clock: Clock;
  /** Most beacons waiting to become durable at once (default 50,000); beyond: 503. */
  maxPending?: number;
  /** Largest group-commit batch (default 1000). */
  maxBatch?: number;
  /** Header the trusted proxy sets with the listener's country (default x-swarmcast-country). */
  countryHeader?: string;
}

/** What the collector did, for the admin report and tests. */
export interface CollectorStats {
  accepted: number;
  /** Requests refused before the stream, by reason (unparseable, oversized...). */
  rejected: Record<string, number>;
  /** Requests answered 503 because too many beacons were waiting or the stream failed. */
  unavailable: number;
}

export const playBeaconPath = '/beacon/play';
const maxPlayBody = 4096;
const maxUrl = 8192;
// The classic 43-byte transparent 1x1 GIF.
const gif = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/**
 * The stream event id of an ad beacon: the same request gives the same id on any collector
 * process, so a retried request (the player's, or the proxy's on another upstream) is folded
 * by the stream's and the pipeline's idempotency instead of being stored twice.
 * - With a cache-buster: (token, event, offset, cache-buster). A replay with a new one is a
 *   new event, which the pipeline keeps and judges a `duplicate`.
 * - Without one (absent, unreplaced, `-1`): [CACHEBUSTING] only stops caches answering for
 *   the server (VAST 4.x macros: "Random 8-digit integer"); it is not what makes two events
 *   distinct. Without it a retry repeats the very URL, so the id is the whole of what the
 *   player said: (token, event, offset, timestamp, ad playhead, error code). Two real
 *   events differ in [TIMESTAMP] or [ADPLAYHEAD]; identical ones are one beacon.
 */
export function adBeaconEventId(b: AdBeaconQuery): string {
  const key =
    b.cacheBuster !== null
      ? `${b.token}\u0000${b.event}\u0000${b.offsetMs}\u0000${b.cacheBuster}`
      : `${b.token}\u0000${b.event}\u0000${b.offsetMs}\u0000\u0001no-cb\u0000${b.ts}\u0000${b.adPlayheadMs}\u0000${b.errorCode}`;
  // One-shot hash: a Hash object with its update and digest calls cost ~0.6-1.2 us more a
  // beacon (1.6-2.7 -> 1.0-1.5 us for a 700-character key, 3 rounds in one process).
  return `ad:${hash('sha256', key, 'base64url').slice(0, 32)}`;
}

/**
 * The answer to an ad beacon, whatever was decided about it. A function of the module, not
 * a closure made per request: under tsx (the benches) every closure made also costs a call
 * to esbuild's name-keeping helper, ~3% of the route's profile.
 */
function answerAd(event: string, reply: FastifyReply): FastifyReply {
  reply.header('cache-control', 'no-store');
  return event === 'impression' ? reply.code(200).type('image/gif').send(gif) : reply.code(204).send();
}

/**
 * The beacon collector: ad tracking beacons (`GET /beacon/ad/<event>?t=...`) and content
 * play beacons (`POST /beacon/play`). An ad beacon is always answered 204 (a 1x1 GIF for
 * `impression`) whatever is decided about it, so a player never learns what was filtered;
 * the answer is sent only after the beacon is durable on the stream. A play beacon gets 204
 * when durable, 400 with a coded error when malformed, 413 when too large. Either gets 503
 * when the collector is overloaded (nothing was stored; the client should retry).
 */
export function collectorRoutes(
  app: FastifyInstance,
  o: CollectorOptions,
): { stats: CollectorStats; close(): Promise<void> } {
  const stats: CollectorStats = { accepted: 0, rejected: {}, unavailable: 0 };
  const commit = new GroupCommit(o.stream, {
    shape: eventBatches(o.maxBatch ?? 1000),
    maxPending: o.maxPending ?? 50_000,
  });
  const reject = (reason: string) => {
    stats.rejected[reason] = (stats.rejected[reason] ?? 0) + 1;
  };
  const edgeOf = (req: FastifyRequest, now: number) =>
    o.edge(req.ip, String(req.headers['user-agent'] ?? '').slice(0, 1024), now);

  async function durable(event: AdBeaconEvent | PlayBeaconEvent, subject: string): Promise<boolean> {
    const pending = commit.add({ id: event.id, subject, data: event });
    if (pending === false || !(await pending)) return false;
    stats.accepted++;
    return true;
  }

  app.get<{ Params: { event: string } }>('/beacon/ad/:event', async (req, reply) => {
    if (req.url.length > maxUrl) {
      reject('oversized');
      return answerAd(req.params.event, reply);
    }
    const parsed = parseAdBeacon(req.params.event, req.query);
    if (!parsed.ok) {
      reject(parsed.reason);
      return answerAd(req.params.event, reply);
    }
    const now = o.clock.now();
    const b = parsed.value;
    const event: AdBeaconEvent = {
      kind: 'ad',
      id: adBeaconEventId(b),
      receivedAt: now,
      event: b.event,
      token: b.token,
      ts: b.ts,
      adPlayheadMs: b.adPlayheadMs,
      offsetMs: b.offsetMs,
      errorCode: b.errorCode,
      ...(await edgeOf(req, now)),
    };
    if (!(await durable(event, subjects.adBeacon))) {
      stats.unavailable++;
      return reply.code(503).header('retry-after', '1').send();
    }
    return answerAd(req.params.event, reply);
  });

  // Browsers send navigator.sendBeacon bodies as text/plain to avoid a CORS preflight.
  app.addContentTypeParser(
    'text/plain',
    { parseAs: 'string', bodyLimit: maxPlayBody },
    (_req, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch {
        done(null, { malformedJson: true });
      }
    },
  );

  app.options(playBeaconPath, async (_req, reply) =>
    reply
      .code(204)
      .header('access-control-allow-origin', '*')
      .header('access-control-allow-methods', 'POST')
      .header('access-control-allow-headers', 'content-type')
      .header('access-control-max-age', '86400')
      .send(),
  );

  app.post(playBeaconPath, { bodyLimit: maxPlayBody }, async (req, reply) => {
    reply.header('access-control-allow-origin', '*').header('cache-control', 'no-store');
    const parsed = parsePlayBeacon(req.body);
    if (!parsed.ok) {
      reject(`play-${parsed.reason}`);
      return reply
        .code(400)
        .send({ code: 'MEA_BAD_BEACON', message: `play beacon rejected: ${parsed.reason}` });
    }
    const now = o.clock.now();
    const b = parsed.value;
    const event: PlayBeaconEvent = {
      kind: 'play',
      id: `play:${b.sessionId}:${b.seq}`,
      receivedAt: now,
      beacon: b,
      ...(await edgeOf(req, now)),
      // For plays by country: only through the trusted proxy, as for download facts.
      country: trustedCountry(req, o.countryHeader),
    };
    if (!(await durable(event, subjects.playBeacon))) {
      stats.unavailable++;
      return reply
        .code(503)
        .header('retry-after', '1')
        .send({ code: 'MEA_OVERLOADED', message: 'the collector is busy; retry' });
    }
    return reply.code(204).send();
  });

  return { stats, close: () => commit.close() };
}

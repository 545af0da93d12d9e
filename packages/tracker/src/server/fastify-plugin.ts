/**
 * The tracker as a Fastify plugin, for `swarmcast up` (one server for the portal, API,
 * origin and tracker). Routes: GET /announce, /scrape, /:passkey/announce, /:passkey/scrape,
 * /stats, /metrics; WebSocket upgrades on any path not claimed by another upgrade handler
 * (WebTorrent clients connect to the tracker URL itself, e.g. ws://host:port/announce).
 */
import type { FastifyInstance } from 'fastify';
import type { Tracker } from '../tracker.ts';
import { answerHttp } from './http-routes.ts';

export interface TrackerPluginDeps {
  tracker: Tracker;
  /**
   * Which upgrade requests are the tracker's (default: every path). Give a predicate when
   * other parts of the server also accept WebSockets.
   */
  isTrackerUpgrade?: (url: string) => boolean;
}

export async function trackerPlugin(app: FastifyInstance, deps: TrackerPluginDeps): Promise<void> {
  const { tracker } = deps;
  const handler = async (
    req: { url: string; ip: string; headers: Record<string, unknown> },
    reply: {
      code(n: number): unknown;
      header(k: string, v: string): unknown;
      send(b: unknown): unknown;
    },
  ) => {
    const ua = typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'] : null;
    const answer = await answerHttp(tracker, req.url, req.ip, ua);
    if (!answer) {
      reply.code(404);
      return reply.send('not found\n');
    }
    reply.code(answer.status);
    reply.header('content-type', answer.contentType);
    return reply.send(typeof answer.body === 'string' ? answer.body : Buffer.from(answer.body));
  };
  for (const path of [
    '/announce',
    '/scrape',
    '/:passkey/announce',
    '/:passkey/scrape',
    '/stats',
    '/metrics',
  ]) {
    // rawQuery: info_hash and peer_id are binary, percent-encoded bytes that are no text;
    // the host's guards against control characters in text queries must let them through.
    app.get(path, { config: { rawQuery: true } }, handler);
  }
  // Upgraded sockets are not the HTTP server's to close: end them first, or close() waits
  // until every browser hangs up (30 s and more after Ctrl-C with a player open).
  app.addHook('preClose', async () => tracker.ws.close());
  const accept = deps.isTrackerUpgrade ?? (() => true);
  app.server.on('upgrade', (req, socket, head) => {
    if (accept(req.url ?? '/')) tracker.ws.handleUpgrade(req, socket, head);
  });
}

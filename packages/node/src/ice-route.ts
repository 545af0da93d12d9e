/**
 * `GET /p2p/ice`: the ICE servers for one page's WebRTC peers, as the W3C `iceServers`
 * list. STUN is the node's own by default (its UDP port); with TURN configured, each call
 * mints fresh TURN REST API credentials (coturn `use-auth-secret`) for a random page id,
 * expiring after SWARMCAST_TURN_TTL. Never cached: credentials are per page and expire.
 * The player fetches it beside the .torrent, so it costs no time before the first frame.
 */
import { randomBytes } from 'node:crypto';
import { type Clock, type IceServer, type IceSettings, iceServersFor } from '@swarmcast/platform';
import type { FastifyInstance } from 'fastify';

export const icePath = '/p2p/ice';

export interface IceRouteOptions {
  settings: IceSettings;
  clock: Clock;
  /** The node's own STUN address (public host, UDP port), once it listens. */
  self: () => { host: string; port: number } | null;
}

/** ICE servers for one peer: `id` names it in the TURN username (the node's seeder: "node"). */
export function iceServersOf(o: IceRouteOptions, id: string): IceServer[] {
  return iceServersFor(o.settings, id, o.clock.now(), o.self());
}

export function iceRoute(app: FastifyInstance, o: IceRouteOptions): void {
  app.get(icePath, async (_req, reply) => {
    const id = randomBytes(9).toString('base64url');
    reply
      .header('cache-control', 'no-store')
      // The embed and the player script may run on other sites' pages.
      .header('access-control-allow-origin', '*');
    return { iceServers: iceServersOf(o, id), ttlSeconds: o.settings.turnTtlSeconds };
  });
}

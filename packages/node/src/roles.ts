/**
 * Roles of a node process (`swarmcast up --roles`). Every process of a network shares the
 * database, Redis, NATS and the media folder; what it keeps in memory is a cache of those,
 * so any role can run N times. A process serves the routes of its roles only and runs only
 * their background work; see docs/operations.md for what each needs.
 */
import type { FastifyInstance } from 'fastify';

export const nodeRoles = ['web', 'origin', 'tracker', 'seeder', 'measure'] as const;
export type NodeRole = (typeof nodeRoles)[number];

/** What each role does, for `--help` and the operations guide. */
export const roleDuties: Record<NodeRole, string> = {
  web: 'portal, dashboards, API, ad decisions (VAST/VMAP), beacon collector, reports, ICE servers',
  origin: 'web seed and enclosures (/media/), stitched enclosures (/dai/)',
  tracker: 'BitTorrent tracker: HTTP, WebSocket (WebRTC signalling) and UDP announces, STUN',
  seeder: 'the engine seeding published torrents (one seeder per torrent, by lease)',
  measure: 'the measurement pipeline consumer and delivery settlement (billing)',
};

/** Parses "web,origin" (or "all"); an unknown name is an error naming the known ones. */
export function parseRoles(text: string | undefined): Set<NodeRole> | Error {
  if (text === undefined || text.trim() === '' || text.trim() === 'all') return new Set(nodeRoles);
  const out = new Set<NodeRole>();
  for (const raw of text.split(',')) {
    const name = raw.trim();
    if (!(nodeRoles as readonly string[]).includes(name))
      return new Error(`unknown role "${name}"; roles are ${nodeRoles.join(', ')} (or all)`);
    out.add(name as NodeRole);
  }
  return out;
}

/** URL paths that belong to the origin and tracker roles; everything else is the web role's. */
const originPaths = /^\/(media|dai)\//;
const trackerPaths = /^\/(announce|scrape|stats|metrics)(\?|$)|^\/[^/]+\/(announce|scrape)(\?|$)/;

function roleOfPath(url: string): NodeRole {
  if (originPaths.test(url)) return 'origin';
  if (trackerPaths.test(url)) return 'tracker';
  return 'web';
}

/**
 * Answers 404 for requests of roles this process does not run (the proxy in front routes
 * them to a process that does); /healthz is every process's.
 */
export function restrictToRoles(app: FastifyInstance, roles: ReadonlySet<NodeRole>): void {
  if (nodeRoles.every((r) => roles.has(r))) return;
  app.addHook('onRequest', async (req, reply) => {
    const url = req.url;
    if (url === '/healthz' || url.startsWith('/healthz?')) return;
    const role = roleOfPath(url);
    if (roles.has(role)) return;
    return reply
      .code(404)
      .send({ code: 'ROLE_NOT_HERE', message: `this process does not run the ${role} role` });
  });
}

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CatalogContext } from '@swarmcast/catalog';
import { buildPlayerBundle } from '@swarmcast/player/build';
import Fastify, { type FastifyInstance } from 'fastify';
import { apiRoutes } from './api/routes.ts';
import { accountRoutes } from './dashboard/account-routes.ts';
import { parseForm } from './dashboard/form.ts';
import { dashboardRoutes } from './dashboard/routes.ts';
import { portalRoutes } from './portal/routes.ts';
import { siteUrls } from './urls.ts';

/** What `swarmcast up` hands the web server: the node's shared pieces. */
export interface NodeServerOptions {
  catalog: CatalogContext;
  /** Fastify's logger (off in tests). */
  logger?: boolean;
}

/**
 * The one Fastify server of a node: portal, dashboards, API and the other parts' plugins
 * mounted on it. Nothing listens until the caller calls `listen()`.
 */
export async function createNodeServer(opts: NodeServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: 1_000_000 });
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 100_000 },
    (_req, body, done) => done(null, parseForm(body as string)),
  );
  const ctx = opts.catalog;
  const urls = siteUrls(ctx.publicUrl);
  const dashboardJs = await readFile(join(import.meta.dirname, 'assets', 'dashboard.js'));

  app.addHook('onSend', async (_req, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'same-origin');
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) {
      reply.header('x-frame-options', 'DENY');
    }
  });
  app.get('/assets/dashboard.js', async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').send(dashboardJs),
  );
  // The player bundle is built once, on first request, so a node that nobody visits pays nothing.
  let playerJs: Promise<string> | null = null;
  app.get('/assets/player.js', async (_req, reply) => {
    playerJs ??= buildPlayerBundle();
    return reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=300')
      .send(await playerJs);
  });
  app.get('/healthz', async () => ({ ok: true }));
  portalRoutes(app, ctx, urls);
  accountRoutes(app, ctx, () => ctx.publicUrl().startsWith('https:'));
  dashboardRoutes(app, ctx);
  apiRoutes(app, ctx);
  return app;
}

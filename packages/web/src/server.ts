import Fastify, { type FastifyInstance } from 'fastify';
import { html } from './html.ts';
import { page } from './layout.ts';

/** What `swarmcast up` hands the web server: the node's shared pieces. */
export interface NodeServerOptions {
  /** The folder all of this node's state lives under. */
  dataDir: string;
  /** Fastify's logger (off in tests). */
  logger?: boolean;
}

/**
 * The one Fastify server of a node: portal, API and the other parts' plugins mounted on it.
 * Nothing listens until the caller calls `listen()`.
 */
export async function createNodeServer(opts: NodeServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: opts.logger ?? false });
  app.get('/', async (_req, reply) => {
    reply.type('text/html; charset=utf-8');
    return page(
      { title: 'Home' },
      html`<h1>Swarmcast</h1><p>This node is running. Shows and episodes appear here once published.</p>`,
    );
  });
  app.get('/healthz', async () => ({ ok: true }));
  return app;
}

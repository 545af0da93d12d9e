import { isDbUnavailable } from '@swarmcast/platform';
import type { FastifyError, FastifyInstance } from 'fastify';

/**
 * The node's last word on a failed request. Bad input stays a 4xx with its code; the
 * database being away is a 503 `PLT_DB_UNAVAILABLE` with Retry-After (the node reconnects by
 * itself); anything else is a 500 `WEB_INTERNAL` whose body carries no internal text, stack
 * or server path. The full error goes to the log with its code.
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply.code(status).send({
        error: { code: err.code ?? 'WEB_BAD_REQUEST', message: publicMessage(err.message) },
      });
    }
    if (isDbUnavailable(err)) {
      req.log.warn(
        { code: 'PLT_DB_UNAVAILABLE', cause: (err as { code?: string }).code },
        'database unavailable',
      );
      return reply
        .code(503)
        .header('retry-after', '5')
        .send({
          error: { code: 'PLT_DB_UNAVAILABLE', message: 'the database is unavailable; try again shortly' },
        });
    }
    req.log.error({ err, code: (err as { code?: string }).code ?? 'WEB_INTERNAL' }, 'request failed');
    return reply.code(500).send({ error: { code: 'WEB_INTERNAL', message: 'internal error' } });
  });
}

/** A 4xx message from the framework, minus anything that looks like a server path. */
function publicMessage(message: string): string {
  return message.replace(/(?:\/[\w.@-]+){2,}/g, '<path>').slice(0, 300);
}

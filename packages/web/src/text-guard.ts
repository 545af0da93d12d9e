import type { FastifyInstance } from 'fastify';

/**
 * NUL and other control characters (C0 except tab, line feed and carriage return; DEL; C1).
 * PostgreSQL refuses NUL in text (its error reached clients as a 500), and no form, token
 * label, path or query of ours means any of them.
 */
const control = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

/** True when any string inside `value` (objects and arrays, bounded depth) has one. */
export function hasControlCharacters(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return control.test(value);
  if (depth > 8 || value === null || typeof value !== 'object') return false;
  if (ArrayBuffer.isView(value) || typeof (value as { pipe?: unknown }).pipe === 'function') return false;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (control.test(k) || hasControlCharacters(v, depth + 1)) return true;
  }
  return false;
}

/**
 * Every text input of the node (JSON and form bodies, query strings, path parameters) is
 * refused with a coded 400 when it carries a control character, before any route reads it.
 */
export function installTextGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (req, reply) => {
    // The tracker's announce and scrape carry binary ids in the query (it parses them itself).
    const raw = (req.routeOptions.config as { rawQuery?: boolean } | undefined)?.rawQuery === true;
    const bad =
      (!raw && (hasControlCharacters(req.params) || hasControlCharacters(req.query))) ||
      hasControlCharacters(req.body) ||
      control.test(decodeSafely(req.url.split('?')[0] ?? ''));
    if (bad) {
      return reply.code(400).send({
        error: { code: 'WEB_BAD_TEXT', message: 'text must not contain NUL or other control characters' },
      });
    }
  });
}

function decodeSafely(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

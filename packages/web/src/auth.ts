import type { CatalogContext } from '@swarmcast/catalog';
import { type Account, authenticate } from '@swarmcast/catalog';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const sessionCookie = 'swarmcast_session';

/** Reads one cookie from the Cookie header (no library: we set exactly one cookie). */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return null;
      }
    }
  }
  return null;
}

/**
 * The session cookie: HttpOnly (no script reads it), SameSite=Lax (not sent on another
 * site's POST, which is our CSRF defence together with the Origin check), Secure when the
 * node is served over https.
 */
export function sessionCookieHeader(token: string, secure: boolean, maxAgeS = 30 * 24 * 3600): string {
  return `${sessionCookie}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAgeS}${secure ? '; Secure' : ''}`;
}

export function clearCookieHeader(): string {
  return `${sessionCookie}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`;
}

/** Who sent the request: an API token (Authorization: Bearer) or a web session cookie. */
export async function whoIs(
  ctx: Pick<CatalogContext, 'db' | 'clock'>,
  req: FastifyRequest,
): Promise<Account | null> {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return authenticate(ctx.db, auth.slice(7).trim(), 'api', ctx.clock);
  const cookie = readCookie(req.headers.cookie, sessionCookie);
  return cookie ? authenticate(ctx.db, cookie, 'web', ctx.clock) : null;
}

/**
 * A state-changing request that rides on a cookie must come from our own pages: when the
 * browser says where it came from (Origin), it has to be this host.
 */
export function sameOrigin(req: FastifyRequest): boolean {
  if (req.headers.authorization?.startsWith('Bearer ')) return true;
  const origin = req.headers.origin;
  if (!origin || origin === 'null') return origin !== 'null';
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/** Sends a coded catalog failure as JSON. */
export function sendFailure(reply: FastifyReply, f: { code: string; message: string; status: number }) {
  return reply.code(f.status).send({ error: { code: f.code, message: f.message } });
}

/**
 * The account behind an API request, or null with the answer already sent: 403 for a write
 * from another site (CSRF), 401 without a session or token. Every JSON route starts here.
 */
export async function apiCaller(
  ctx: CatalogContext,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<Account | null> {
  if (req.method !== 'GET' && !sameOrigin(req)) {
    await sendFailure(reply, { code: 'CAT_FORBIDDEN', message: 'cross-site request refused', status: 403 });
    return null;
  }
  const who = await whoIs(ctx, req);
  if (!who) {
    await sendFailure(reply, {
      code: 'CAT_UNAUTHENTICATED',
      message: 'log in or send an API token',
      status: 401,
    });
    return null;
  }
  return who;
}

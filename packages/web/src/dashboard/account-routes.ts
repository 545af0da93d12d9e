import {
  type CatalogContext,
  checkPassword,
  createAccount,
  createSession,
  revokeCredential,
} from '@swarmcast/catalog';
import { html, page } from '@swarmcast/platform';
import { addressGroup, type RateRule } from '@swarmcast/tracker';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clearCookieHeader, readCookie, sameOrigin, sessionCookie, sessionCookieHeader } from '../auth.ts';
import { processSharedState, type SharedState } from '../node/shared-state.ts';
import { AccountSlowDown, type SlowDownOptions } from './slow-down.ts';

type Form = Record<string, string | undefined>;

/** A same-site path to return to after log-in ("/x", never "//host" or a full URL). */
export function safeNext(v: unknown): string | null {
  return typeof v === 'string' && /^\/(?![/\\])[\x21-\x7e]{0,500}$/.test(v) ? v : null;
}

/** Where an account lands after log-in when no page asked for it. */
function homeOf(role: string): string {
  return role === 'advertiser' ? '/ads/dashboard' : '/dashboard';
}

function field(form: Form, name: string): string {
  const v = form[name];
  return typeof v === 'string' ? v : '';
}

function accountForm(kind: 'signup' | 'login', error: string | null, form: Form) {
  const signup = kind === 'signup';
  return page(
    { title: signup ? 'Sign up' : 'Log in' },
    html`<h1>${signup ? 'Create an account' : 'Log in'}</h1>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<form class="stack" method="post" action="/${kind}">
${safeNext(form.next) ? html`<input type="hidden" name="next" value="${safeNext(form.next)}">` : ''}
${signup ? html`<label>Name <input name="name" autocomplete="name" required maxlength="80" value="${field(form, 'name')}"></label>` : ''}
<label>Email <input type="email" name="email" autocomplete="email" required value="${field(form, 'email')}"></label>
<label>Password <input type="password" name="password" autocomplete="${signup ? 'new-password' : 'current-password'}" required minlength="${signup ? 10 : 1}">
${signup ? html`<span class="hint">At least 10 characters.</span>` : ''}</label>
${
  signup
    ? html`<label>Account type <select name="role"><option value="creator">Creator (publish shows)</option><option value="advertiser">Advertiser (run campaigns)</option></select></label>`
    : ''
}
<div><button type="submit">${signup ? 'Sign up' : 'Log in'}</button></div>
</form>
<p>${signup ? html`Have an account? <a href="/login">Log in</a>` : html`New here? <a href="/signup">Sign up</a>`}</p>`,
  );
}

/** Attempts allowed on the account forms (token buckets; see `AddressRateLimiter`). */
export interface AccountLimits {
  /** Log-ins per client address (IPv6: per /64). */
  loginPerAddress: RateRule;
  /**
   * Per email, whatever the address: wrong passwords slow further attempts down
   * progressively (`AccountSlowDown`), never refuse them, so nobody can lock a user out.
   */
  loginSlowDown?: SlowDownOptions;
  /** Sign-ups per client address. */
  signupPerAddress: RateRule;
}

export const defaultAccountLimits: AccountLimits = {
  loginPerAddress: { burst: 10, perSecond: 1 / 6 },
  signupPerAddress: { burst: 5, perSecond: 1 / 60 },
};

/**
 * Sign-up, log-in and log-out: HTML forms that set or clear the session cookie. Log-in and
 * sign-up are rate limited per source address (IPv6 per /64; 429 with Retry-After, nothing
 * checked or written), and wrong passwords for one account slow its log-ins down
 * progressively without ever refusing them (no lock-out an attacker can trigger).
 */
export function accountRoutes(
  app: FastifyInstance,
  ctx: CatalogContext,
  secure: () => boolean,
  limits: AccountLimits = defaultAccountLimits,
  shared: SharedState = processSharedState(),
): void {
  // Shared by every web process (Redis with REDIS_URL): N processes allow each rate once.
  const loginByAddress = shared.rateLimiter('login', limits.loginPerAddress, 50_000);
  const slowDown = new AccountSlowDown(
    limits.loginSlowDown,
    shared.failures('login-failures', limits.loginSlowDown?.decayMs ?? 300_000, 50_000),
  );
  const signupByAddress = shared.rateLimiter('signup', limits.signupPerAddress, 50_000);
  const tooMany = (reply: FastifyReply, kind: 'signup' | 'login', form: Form) =>
    reply
      .code(429)
      .header('retry-after', '60')
      .type('text/html; charset=utf-8')
      .send(
        accountForm(kind, 'Too many attempts from here. Wait a minute and try again.', {
          email: field(form, 'email'),
        }),
      );
  const html200 = (reply: FastifyReply, body: string, status = 200) =>
    reply.code(status).type('text/html; charset=utf-8').send(body);
  const login = async (reply: FastifyReply, account: { id: string; role: string }, form: Form) => {
    const token = await createSession(ctx.db, account.id, ctx.clock);
    return reply
      .header('set-cookie', sessionCookieHeader(token, secure()))
      .redirect(safeNext(form.next) ?? homeOf(account.role), 303);
  };
  const refuseCrossSite = (req: FastifyRequest, reply: FastifyReply) =>
    sameOrigin(req) ? null : reply.code(403).type('text/plain').send('cross-site form refused');

  type Q = FastifyRequest<{ Querystring: Record<string, unknown> }>;
  const nextOf = (req: Q): Form => {
    const next = safeNext(req.query.next);
    return next ? { next } : {};
  };
  app.get('/signup', async (req: Q, reply) => html200(reply, accountForm('signup', null, nextOf(req))));
  app.get('/login', async (req: Q, reply) => html200(reply, accountForm('login', null, nextOf(req))));

  app.post<{ Body: Form }>('/signup', async (req, reply) => {
    if (refuseCrossSite(req, reply)) return reply;
    const form = (req.body ?? {}) as Form;
    if (!(await signupByAddress.allow(addressGroup(req.ip), ctx.clock.now())))
      return tooMany(reply, 'signup', form);
    const role = field(form, 'role') === 'advertiser' ? 'advertiser' : 'creator';
    const r = await createAccount(ctx.db, {
      email: field(form, 'email'),
      name: field(form, 'name'),
      password: field(form, 'password'),
      role,
    });
    if (!r.ok) return html200(reply, accountForm('signup', r.message, form), r.status);
    return login(reply, r.value, form);
  });

  app.post<{ Body: Form }>('/login', async (req, reply) => {
    if (refuseCrossSite(req, reply)) return reply;
    const form = (req.body ?? {}) as Form;
    const now = ctx.clock.now();
    const email = field(form, 'email').trim().toLowerCase().slice(0, 320);
    if (!(await loginByAddress.allow(addressGroup(req.ip), now))) return tooMany(reply, 'login', form);
    const wait = await slowDown.delayMs(email, now);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const r = await checkPassword(ctx.db, field(form, 'email'), field(form, 'password'));
    if (!r.ok) {
      if (r.code === 'CAT_BAD_CREDENTIALS') await slowDown.failed(email, ctx.clock.now());
      return html200(
        reply,
        accountForm('login', r.message, { email: field(form, 'email'), next: field(form, 'next') }),
        r.status,
      );
    }
    await slowDown.succeeded(email);
    return login(reply, r.value, form);
  });

  app.post('/logout', async (req, reply) => {
    if (refuseCrossSite(req, reply)) return reply;
    const token = readCookie(req.headers.cookie, sessionCookie);
    if (token) await revokeCredential(ctx.db, token);
    return reply.header('set-cookie', clearCookieHeader()).redirect('/', 303);
  });
}

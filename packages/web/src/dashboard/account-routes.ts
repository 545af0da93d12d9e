import {
  type CatalogContext,
  checkPassword,
  createAccount,
  createSession,
  revokeCredential,
} from '@swarmcast/catalog';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clearCookieHeader, readCookie, sameOrigin, sessionCookie, sessionCookieHeader } from '../auth.ts';
import { html } from '../html.ts';
import { page } from '../layout.ts';

type Form = Record<string, string | undefined>;

function field(form: Form, name: string): string {
  const v = form[name];
  return typeof v === 'string' ? v : '';
}

function accountForm(kind: 'signup' | 'login', error: string | null, form: Form) {
  const signup = kind === 'signup';
  return page(
    { title: signup ? 'Sign up' : 'Log in' },
    html`<h1>${signup ? 'Create a creator account' : 'Log in'}</h1>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<form class="stack" method="post" action="/${kind}">
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

/** Sign-up, log-in and log-out: HTML forms that set or clear the session cookie. */
export function accountRoutes(app: FastifyInstance, ctx: CatalogContext, secure: () => boolean): void {
  const html200 = (reply: FastifyReply, body: string, status = 200) =>
    reply.code(status).type('text/html; charset=utf-8').send(body);
  const login = async (reply: FastifyReply, accountId: string) => {
    const token = await createSession(ctx.db, accountId, ctx.clock);
    return reply.header('set-cookie', sessionCookieHeader(token, secure())).redirect('/dashboard', 303);
  };
  const refuseCrossSite = (req: FastifyRequest, reply: FastifyReply) =>
    sameOrigin(req) ? null : reply.code(403).type('text/plain').send('cross-site form refused');

  app.get('/signup', async (_req, reply) => html200(reply, accountForm('signup', null, {})));
  app.get('/login', async (_req, reply) => html200(reply, accountForm('login', null, {})));

  app.post<{ Body: Form }>('/signup', async (req, reply) => {
    if (refuseCrossSite(req, reply)) return reply;
    const form = (req.body ?? {}) as Form;
    const role = field(form, 'role') === 'advertiser' ? 'advertiser' : 'creator';
    const r = await createAccount(ctx.db, {
      email: field(form, 'email'),
      name: field(form, 'name'),
      password: field(form, 'password'),
      role,
    });
    if (!r.ok) return html200(reply, accountForm('signup', r.message, form), r.status);
    return login(reply, r.value.id);
  });

  app.post<{ Body: Form }>('/login', async (req, reply) => {
    if (refuseCrossSite(req, reply)) return reply;
    const form = (req.body ?? {}) as Form;
    const r = await checkPassword(ctx.db, field(form, 'email'), field(form, 'password'));
    if (!r.ok)
      return html200(reply, accountForm('login', r.message, { email: field(form, 'email') }), r.status);
    return login(reply, r.value.id);
  });

  app.post('/logout', async (req, reply) => {
    if (refuseCrossSite(req, reply)) return reply;
    const token = readCookie(req.headers.cookie, sessionCookie);
    if (token) await revokeCredential(ctx.db, token);
    return reply.header('set-cookie', clearCookieHeader()).redirect('/', 303);
  });
}

import { type Account, type CatalogContext, getShow, importItems } from '@swarmcast/catalog';
import { html, page } from '@swarmcast/platform';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sameOrigin, sendFailure, whoIs } from '../auth.ts';
import { type FormBody, one } from '../dashboard/form.ts';
import { bytes, enc } from '../portal/fragments.ts';
import { type ImportJob, ImportJobs } from './jobs.ts';

const crumbs: [string, string][] = [['/dashboard', 'Dashboard']];

function send(reply: FastifyReply, body: string, status = 200) {
  return reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
}

/** The API and dashboard of `importFeed`: start an import, follow it, see failures, run again. */
export function importRoutes(app: FastifyInstance, ctx: CatalogContext): ImportJobs {
  const jobs = new ImportJobs(ctx);
  app.addHook('onClose', async () => jobs.close());

  const account = async (
    req: FastifyRequest,
    reply: FastifyReply,
    json: boolean,
  ): Promise<Account | null> => {
    if (req.method !== 'GET' && !sameOrigin(req)) {
      if (json)
        await sendFailure(reply, {
          code: 'CAT_FORBIDDEN',
          message: 'cross-site request refused',
          status: 403,
        });
      else await reply.code(403).type('text/plain').send('cross-site form refused');
      return null;
    }
    const who = await whoIs(ctx, req);
    if (!who) {
      if (json)
        await sendFailure(reply, {
          code: 'CAT_UNAUTHENTICATED',
          message: 'log in or send an API token',
          status: 401,
        });
      else await reply.redirect('/login', 303);
      return null;
    }
    return who;
  };

  const begin = (who: Account, b: Record<string, unknown>) => {
    if (who.role !== 'creator' && who.role !== 'admin')
      return { error: { code: 'CAT_FORBIDDEN', message: 'only creator accounts import shows', status: 403 } };
    if (jobs.running(who))
      return {
        error: { code: 'CAT_BAD_INPUT', message: 'an import of yours is still running', status: 409 },
      };
    const url = typeof b.url === 'string' ? b.url.trim() : '';
    const xml = typeof b.xml === 'string' ? b.xml : '';
    if (!url === !xml)
      return { error: { code: 'CAT_BAD_INPUT', message: 'url or xml: exactly one', status: 400 } };
    if (url && !/^https?:\/\/[^\s]+$/i.test(url))
      return { error: { code: 'CAT_BAD_INPUT', message: 'url: an http or https feed URL', status: 400 } };
    const slug = typeof b.slug === 'string' && b.slug ? b.slug : undefined;
    const concurrency = b.concurrency === 2 || b.concurrency === '2' ? 2 : 1;
    return { job: jobs.start(who, url ? { url } : { xml }, { ...(slug ? { slug } : {}), concurrency }) };
  };

  app.post('/api/imports', { bodyLimit: 17 * 1024 * 1024 }, async (req, reply) => {
    const who = await account(req, reply, true);
    if (!who) return reply;
    const b = req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {};
    const r = begin(who, b);
    if ('error' in r && r.error)
      return sendFailure(reply, r.error as { code: 'CAT_BAD_INPUT'; message: string; status: number });
    return reply.code(202).send(r.job);
  });

  app.get<{ Params: { id: string } }>('/api/imports/:id', async (req, reply) => {
    const who = await account(req, reply, true);
    if (!who) return reply;
    const job = jobs.get(req.params.id, who);
    if (!job) return sendFailure(reply, { code: 'CAT_NOT_FOUND', message: 'no such import', status: 404 });
    return job;
  });

  app.post<{ Body: FormBody }>('/dashboard/imports', async (req, reply) => {
    const who = await account(req, reply, false);
    if (!who) return reply;
    const f = req.body ?? {};
    const r = begin(who, { url: one(f, 'url'), slug: one(f, 'slug') });
    if ('error' in r && r.error)
      return send(
        reply,
        page({ title: 'Import', viewer: who, crumbs }, importForm(r.error.message)),
        r.error.status,
      );
    return reply.redirect(`/dashboard/imports/${enc(r.job.id)}`, 303);
  });

  app.get('/dashboard/imports', async (req, reply) => {
    const who = await account(req, reply, false);
    if (!who) return reply;
    return send(reply, page({ title: 'Import a show', viewer: who, crumbs }, importForm(null)));
  });

  app.get<{ Params: { id: string } }>('/dashboard/imports/:id', async (req, reply) => {
    const who = await account(req, reply, false);
    if (!who) return reply;
    const job = jobs.get(req.params.id, who);
    if (!job)
      return send(reply, page({ title: 'Not found', viewer: who }, html`<h1>No such import</h1>`), 404);
    const show = job.show ? await getShow(ctx.db, job.show.slug) : null;
    const failures = show ? (await importItems(ctx, show)).filter((i) => i.state === 'failed') : [];
    return send(
      reply,
      page(
        {
          title: 'Import',
          viewer: who,
          crumbs,
          // While it runs the page refreshes itself: progress without any script.
          ...(job.state === 'running' ? { head: html`<meta http-equiv="refresh" content="2">` } : {}),
        },
        jobView(job, failures),
      ),
    );
  });
  return jobs;
}

function importForm(error: string | null) {
  return html`<h1>Move a show to Swarmcast</h1>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<p>Give the address of your show's RSS feed at its current host. Every episode is fetched, put on BitTorrent and into your new feed with the same GUIDs, so listeners' apps do not download them again. Running the import again fetches only what is new or failed.</p>
<form class="stack" method="post" action="/dashboard/imports">
<label>Feed URL <input name="url" type="url" required maxlength="2048" placeholder="https://example.com/feed.xml"></label>
<label>Address here (optional) <input name="slug" maxlength="64" pattern="[a-z0-9](?:[a-z0-9\\-]{0,62}[a-z0-9])?"><span class="hint">Lower-case letters, digits and dashes; from the title if empty.</span></label>
<div><button type="submit">Import</button></div>
</form>
<p class="hint">From a file: <code>swarmcast import feed.xml</code>.</p>`;
}

function jobView(job: ImportJob, failures: Array<{ title: string; error: string | null; attempts: number }>) {
  const done = job.episodes.filter((e) => e.state === 'done').length;
  return html`<h1>Import${job.show ? html`: ${job.show.title}` : ''}</h1>
<p role="status">${job.state === 'running' ? 'Importing…' : job.state === 'done' ? 'Finished.' : 'Stopped.'} ${done} imported${job.alreadyHere ? `, ${job.alreadyHere} already here` : ''}.</p>
${job.error ? html`<p class="error" role="alert">${job.error.message}</p>` : ''}
${
  job.episodes.length
    ? html`<table><thead><tr><th scope="col">Episode</th><th scope="col">State</th><th scope="col">Progress</th></tr></thead><tbody>
${job.episodes.map(
  (e) =>
    html`<tr><td>${e.title}</td><td>${e.state}${e.error ? html`<div class="error">${e.error}</div>` : ''}</td><td>${e.total ? html`<progress max="${e.total}" value="${e.bytes}">${bytes(e.bytes)}</progress> ${bytes(e.bytes)} of ${bytes(e.total)}` : bytes(e.bytes)}</td></tr>`,
)}
</tbody></table>`
    : ''
}
${
  failures.length && job.state !== 'running'
    ? html`<h2>Failed episodes</h2><ul class="list">${failures.map((f) => html`<li>${f.title}: ${f.error} <span class="meta">(${f.attempts} attempts)</span></li>`)}</ul>
<p>Run the import again to retry them; episodes already here are not fetched again.</p>`
    : ''
}
${job.show && job.state !== 'running' ? html`<p><a class="button" href="/dashboard/shows/${enc(job.show.slug)}">Open the show</a> <a href="/dashboard/imports">Import again</a></p>` : ''}`;
}

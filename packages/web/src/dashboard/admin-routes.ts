/**
 * The admin pages: an admin is an account with the admin role (made by `swarmcast admin
 * add` or promoted), logged in like anyone. Users, their roles and suspension here; creative approval
 * lives on the ads dashboard's creatives page, invalid traffic and stream lag on the
 * measurement report, both linked from here. Others get the site's 401/403 page.
 */
import {
  type Account,
  type CatalogContext,
  latestEpisodes,
  listAccounts,
  missingMedia,
  publicShows,
  type Role,
  reinstateEpisode,
  reinstateShow,
  setRole,
  setSuspended,
  takeDownEpisode,
  takeDownShow,
  takenDownEpisodes,
  takenDownShows,
} from '@swarmcast/catalog';
import { html, messagePage, page } from '@swarmcast/platform';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sameOrigin, whoIs } from '../auth.ts';
import { takedownsChanged } from '../node/takedowns.ts';
import { day, enc } from '../portal/fragments.ts';
import { type FormBody, one } from './form.ts';

const roles: Role[] = ['creator', 'advertiser', 'admin'];

export function adminRoutes(app: FastifyInstance, ctx: CatalogContext): void {
  const send = (reply: FastifyReply, body: string, status = 200) =>
    reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
  const admin = async (req: FastifyRequest, reply: FastifyReply): Promise<Account | null> => {
    if (req.method === 'POST' && !sameOrigin(req)) {
      await reply.code(403).type('text/plain').send('cross-site form refused');
      return null;
    }
    const who = await whoIs(ctx, req);
    if (!who || who.role !== 'admin') {
      await send(
        reply,
        messagePage(who ? 403 : 401, { viewer: who, what: 'The admin area', returnTo: req.url }),
        who ? 403 : 401,
      );
      return null;
    }
    return who;
  };

  app.get<{ Querystring: { saved?: string } }>('/admin', async (req, reply) => {
    const who = await admin(req, reply);
    if (!who) return reply;
    const users = await listAccounts(ctx.db);
    const missing = await missingMedia(ctx);
    return send(
      reply,
      page(
        { title: 'Admin', viewer: who, current: '/admin' },
        html`<h1>Admin</h1>
${req.query.saved ? html`<p class="alert ok" role="status">Saved.</p>` : ''}
<ul class="grid">
<li class="card"><h2 style="margin-top:0"><a href="/ads/dashboard/creatives">Creative approval</a></h2><p class="meta">Listen to each ad, then approve or reject it before it can run.</p></li>
<li class="card"><h2 style="margin-top:0"><a href="/measure/admin">Invalid traffic and stream lag</a></h2><p class="meta">Why events were left out, the measurement stream's backlog, the books.</p></li>
<li class="card"><h2 style="margin-top:0"><a href="/admin/content">Content takedown</a></h2><p class="meta">Hide a show or an episode, stop seeding it, keep the record.</p></li>
<li class="card"><h2 style="margin-top:0"><a href="/ads/dashboard">All campaigns</a></h2><p class="meta">Every advertiser's campaigns, spend and pacing.</p></li>
</ul>
<h2 id="missing-h">Media files on this node</h2>
${
  missing.length === 0
    ? html`<p class="meta">Every published episode's file is in this node's media folder.</p>`
    : html`<p class="alert danger" role="alert">${missing.length >= 200 ? 'At least ' : ''}${missing.length} published episode(s) have no file in this node's media folder (another node's data directory, or a lost disk): this node neither serves nor seeds them. Copy the files into the media folder and restart, or take the episodes down.</p>
<div class="table-wrap"><table aria-labelledby="missing-h"><thead><tr><th scope="col">Episode</th><th scope="col">Expected file</th></tr></thead><tbody>
${missing.map((m) => html`<tr><td><a href="/episodes/${enc(m.episodeId)}">${m.title}</a></td><td><code>media/${m.mediaPath}</code></td></tr>`)}
</tbody></table></div>`
}
<h2 id="users-h">Users</h2>
<div class="table-wrap"><table aria-labelledby="users-h"><thead><tr><th scope="col">Name</th><th scope="col">E-mail</th><th scope="col">Since</th><th scope="col">Role</th><th scope="col">Status</th></tr></thead><tbody>
${users.map(
  (u) => html`<tr><td>${u.name}</td><td>${u.email}</td><td>${day(new Date(u.createdAt))}</td><td>
<form class="row" method="post" action="/admin/users/${enc(u.id)}/role">
<label class="sr-only" for="role-${u.id}">Role of ${u.name}</label>
<select id="role-${u.id}" name="role">${roles.map((r) => html`<option value="${r}" ${u.role === r ? 'selected' : ''}>${r}</option>`)}</select>
<button type="submit" class="secondary small">Save<span class="sr-only"> role of ${u.name}</span></button></form></td><td>
${u.suspendedAt ? html`<span class="badge danger">suspended ${day(new Date(u.suspendedAt))}</span>` : html`<span class="badge ok">active</span>`}
${
  u.id === who.id
    ? ''
    : html`<form class="row" method="post" action="/admin/users/${enc(u.id)}/suspension">
<input type="hidden" name="suspended" value="${u.suspendedAt ? 'no' : 'yes'}">
<button type="submit" class="${u.suspendedAt ? 'secondary' : 'danger'} small">${u.suspendedAt ? 'Reinstate' : 'Suspend'}<span class="sr-only"> ${u.name}</span></button></form>`
}</td></tr>`,
)}
</tbody></table></div>`,
      ),
    );
  });

  // Content takedown: hide a show or an episode, stop seeding and serving it, keep the record.
  app.get<{ Querystring: { saved?: string } }>('/admin/content', async (req, reply) => {
    const who = await admin(req, reply);
    if (!who) return reply;
    const now = ctx.clock.now();
    const [live, down, shows, downShows] = await Promise.all([
      latestEpisodes(ctx.db, 100, now),
      takenDownEpisodes(ctx.db),
      publicShows(ctx.db, 500, now),
      takenDownShows(ctx.db),
    ]);
    return send(
      reply,
      page(
        { title: 'Content takedown', viewer: who, current: '/admin', crumbs: [['/admin', 'Admin']] },
        html`<h1>Content takedown</h1>
${req.query.saved ? html`<p class="alert ok" role="status">Saved.</p>` : ''}
<p>Taking an episode down removes it from feeds, pages and search, stops seeding it and answers its file with 410 Gone. Its record stays below; its creator cannot publish it again until an admin reinstates it.</p>
<p>Taking a whole show down does the same for its page, its feed and every episode in it. Reinstating the show brings back exactly what was published before.</p>
<h2 id="shows-h">Shows</h2>
${
  shows.length === 0
    ? html`<p class="meta">No shows.</p>`
    : html`<div class="table-wrap"><table class="stack-sm" aria-labelledby="shows-h"><thead><tr><th scope="col">Show</th><th scope="col">Episodes</th><th scope="col">Take down</th></tr></thead><tbody>
${shows.map(
  (
    s,
  ) => html`<tr><td><a href="/shows/${enc(s.slug)}">${s.title}</a></td><td data-label="Episodes">${String(s.episodes)}</td><td data-label="Take down">
<form class="row" method="post" action="/admin/shows/${enc(s.id)}/takedown">
<label class="sr-only" for="why-show-${s.id}">Reason for taking down the show ${s.title}</label>
<input id="why-show-${s.id}" name="reason" required maxlength="500" placeholder="Reason">
<button type="submit" class="danger small">Take down show<span class="sr-only"> ${s.title}</span></button></form></td></tr>`,
)}
</tbody></table></div>`
}
<h2 id="live-h">Published episodes</h2>
<div class="table-wrap"><table class="stack-sm" aria-labelledby="live-h"><thead><tr><th scope="col">Episode</th><th scope="col">Show</th><th scope="col">Take down</th></tr></thead><tbody>
${live.map(
  (
    e,
  ) => html`<tr><td><a href="/episodes/${enc(e.id)}">${e.title}</a></td><td data-label="Show">${e.show.title}</td><td data-label="Take down">
<form class="row" method="post" action="/admin/episodes/${enc(e.id)}/takedown">
<label class="sr-only" for="why-${e.id}">Reason for taking down ${e.title}</label>
<input id="why-${e.id}" name="reason" required maxlength="500" placeholder="Reason">
<button type="submit" class="danger small">Take down<span class="sr-only"> ${e.title}</span></button></form></td></tr>`,
)}
</tbody></table></div>
<h2 id="down-shows-h">Taken-down shows</h2>
${
  downShows.length === 0
    ? html`<p class="meta">No show taken down.</p>`
    : html`<div class="table-wrap"><table class="stack-sm" aria-labelledby="down-shows-h"><thead><tr><th scope="col">Show</th><th scope="col">Episodes</th><th scope="col">Reason</th><th scope="col">When, by</th><th scope="col">Reinstate</th></tr></thead><tbody>
${downShows.map(
  (
    d,
  ) => html`<tr><td>${d.title}</td><td data-label="Episodes">${String(d.episodes)}</td><td data-label="Reason">${d.reason}</td><td data-label="When, by">${day(new Date(d.at))}${d.by ? html`, ${d.by}` : ''}</td><td data-label="Reinstate">
<form method="post" action="/admin/shows/${enc(d.showId)}/reinstate"><button type="submit" class="secondary small">Reinstate show<span class="sr-only"> ${d.title}</span></button></form></td></tr>`,
)}
</tbody></table></div>`
}
<h2 id="down-h">Taken-down episodes</h2>
${
  down.length === 0
    ? html`<p class="meta">No episode taken down.</p>`
    : html`<div class="table-wrap"><table class="stack-sm" aria-labelledby="down-h"><thead><tr><th scope="col">Episode</th><th scope="col">Show</th><th scope="col">Reason</th><th scope="col">When, by</th><th scope="col">Reinstate</th></tr></thead><tbody>
${down.map(
  (
    d,
  ) => html`<tr><td>${d.title}</td><td data-label="Show">${d.showTitle}</td><td data-label="Reason">${d.reason}</td><td data-label="When, by">${day(new Date(d.at))}${d.by ? html`, ${d.by}` : ''}</td><td data-label="Reinstate">
<form method="post" action="/admin/episodes/${enc(d.episodeId)}/reinstate"><button type="submit" class="secondary small">Reinstate<span class="sr-only"> ${d.title}</span></button></form></td></tr>`,
)}
</tbody></table></div>`
}`,
      ),
    );
  });

  // Take down or reinstate a show or an episode: one shape, four actions.
  type Moderation = (
    who: Account,
    id: string,
    body: FormBody,
  ) => Promise<{ ok: true } | { ok: false; status: number; message: string }>;
  const moderation = (path: string, act: Moderation) =>
    app.post<{ Params: { id: string }; Body: FormBody }>(path, async (req, reply) => {
      const who = await admin(req, reply);
      if (!who) return reply;
      const r = await act(who, req.params.id, req.body ?? {});
      if (!r.ok)
        return send(
          reply,
          page(
            { title: 'Admin', viewer: who },
            html`<h1>${r.message}</h1><p><a href="/admin/content">Back</a></p>`,
          ),
          r.status,
        );
      takedownsChanged(ctx.db);
      return reply.redirect('/admin/content?saved=1', 303);
    });
  moderation('/admin/shows/:id/takedown', (who, id, body) => takeDownShow(ctx, who, id, one(body, 'reason')));
  moderation('/admin/shows/:id/reinstate', (who, id) => reinstateShow(ctx, who, id));
  moderation('/admin/episodes/:id/takedown', (who, id, body) =>
    takeDownEpisode(ctx, who, id, one(body, 'reason')),
  );
  moderation('/admin/episodes/:id/reinstate', (who, id) => reinstateEpisode(ctx.db, who, id));

  // Suspend (no log-in, sessions or API tokens; everything kept) or reinstate an account.
  app.post<{ Params: { id: string }; Body: FormBody }>('/admin/users/:id/suspension', async (req, reply) => {
    const who = await admin(req, reply);
    if (!who) return reply;
    const suspended = one(req.body ?? {}, 'suspended') === 'yes';
    if (req.params.id === who.id && suspended)
      return send(
        reply,
        page(
          { title: 'Admin', viewer: who },
          html`<h1>You cannot suspend yourself</h1><p>Ask another admin. <a href="/admin">Back</a></p>`,
        ),
        422,
      );
    const r = await setSuspended(ctx.db, req.params.id, suspended, ctx.clock);
    if (!r.ok)
      return send(
        reply,
        page({ title: 'Admin', viewer: who }, html`<h1>${r.message}</h1><p><a href="/admin">Back</a></p>`),
        r.status,
      );
    return reply.redirect('/admin?saved=1', 303);
  });

  app.post<{ Params: { id: string }; Body: FormBody }>('/admin/users/:id/role', async (req, reply) => {
    const who = await admin(req, reply);
    if (!who) return reply;
    const role = one(req.body ?? {}, 'role') as Role;
    // An admin cannot take away their own admin role by mistake (someone must stay admin).
    if (req.params.id === who.id && role !== 'admin')
      return send(
        reply,
        page(
          { title: 'Admin', viewer: who },
          html`<h1>Keep your own admin role</h1><p>Ask another admin to change it. <a href="/admin">Back</a></p>`,
        ),
        422,
      );
    const r = await setRole(ctx.db, req.params.id, role);
    if (!r.ok)
      return send(
        reply,
        page({ title: 'Admin', viewer: who }, html`<h1>${r.message}</h1><p><a href="/admin">Back</a></p>`),
        r.status,
      );
    return reply.redirect('/admin?saved=1', 303);
  });
}

import {
  type Account,
  apiTokenDefaultDays,
  appleCategory,
  type CatalogContext,
  changePassword,
  createApiToken,
  createShow,
  deleteEpisode,
  deleteShow,
  type EpisodeDetail,
  episodesOfShow,
  getEpisode,
  getUpload,
  listApiTokens,
  publishEpisode,
  revokeApiToken,
  type Show,
  setAdBreaks,
  showForEditing,
  showsOf,
  type Upload,
  updateEpisode,
  updateFeedSettings,
  updateShow,
} from '@swarmcast/catalog';
import { type Html, html, page, raw } from '@swarmcast/platform';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { readCookie, sameOrigin, sessionCookie, whoIs } from '../auth.ts';
import { day, duration, enc } from '../portal/fragments.ts';
import { type DaiView, daiSection, noDai, showDaiStatus } from './dai-section.ts';
import { episodeExtrasSection } from './episode-extras.ts';
import {
  episodeFeatureFields,
  episodeFeaturesFromForm,
  feedSettingsFromForm,
  feedSettingsSection,
} from './feed-settings.ts';
import { adBreaksFromForm, type FormBody, many, one } from './form.ts';
import { publishTimingFields, publishTimingFromForm, scheduleSection, statusCell } from './schedule.ts';

function send(reply: FastifyReply, body: string, status = 200) {
  return reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
}

const alert = (error: string | null) => (error ? html`<p class="error" role="alert">${error}</p>` : '');

/**
 * A form the creator sent back: its fields are shown again as typed (nothing is lost on an
 * error) with the error next to the field it is about.
 */
export interface Draft {
  form: FormBody;
  /** The file already uploaded for this episode (kept across an error). */
  upload?: Upload | null;
  error?: { field: 'title' | 'breaks' | 'upload' | 'form'; message: string } | null;
}

/** Which field a catalog failure is about, so the page can say it next to that field. */
function fieldOf(code: string, message: string): NonNullable<Draft['error']>['field'] {
  if (code === 'CAT_BAD_AD_BREAKS') return 'breaks';
  if (/^title\b/.test(message)) return 'title';
  if (/upload/.test(message)) return 'upload';
  return 'form';
}

const fieldError = (id: string, d: Draft | undefined, field: string) =>
  d?.error?.field === field ? html`<span class="field-error" id="${id}">${d.error.message}</span>` : '';

const invalid = (d: Draft | undefined, field: string, id: string) =>
  d?.error?.field === field ? raw(` aria-invalid="true" aria-describedby="${id}"`) : '';

function breaksFields(e: EpisodeDetail | null, d?: Draft, durationMs?: number): Html {
  const chapters = e?.chapters ?? d?.upload?.probe.chapters ?? [];
  const has = (id: string) => (d ? one(d.form, id) !== '' : !!e?.adBreaks.some((b) => b.id === id));
  const mids = d
    ? one(d.form, 'mids')
    : (
        e?.adBreaks.filter(
          (b) => b.position === 'mid' && !e.chapters.some((c) => c.startMs === b.offsetMs),
        ) ?? []
      )
        .map((b) => duration(b.offsetMs))
        .join(', ');
  const chapterChecked = (i: number, startMs: number) =>
    d
      ? many(d.form, 'chapter').includes(String(i))
      : !!e?.adBreaks.some((b) => b.position === 'mid' && b.offsetMs === startMs && startMs > 0);
  const length = durationMs ?? e?.durationMs ?? d?.upload?.probe.durationMs;
  return html`<fieldset${invalid(d, 'breaks', 'breaks-error')}><legend>Ad breaks</legend>
${fieldError('breaks-error', d, 'breaks')}
<label><input type="checkbox" name="pre" value="1" ${has('pre') ? 'checked' : ''}> Pre-roll (before the episode)</label>
<label>Mid-rolls at <input name="mids" class="mid-times" placeholder="e.g. 0:30, 12:00" value="${mids}"${length ? raw(` data-duration-ms="${length}"`) : ''}${invalid(d, 'breaks', 'breaks-error')}>
<span class="hint">Times into the episode, separated by commas${length ? html`; the episode is ${duration(length)} long` : ''}.</span></label>
<div id="chapter-breaks">${
    chapters.length
      ? html`<p class="hint">Or at the start of a chapter:</p>${chapters.map(
          (c, i) =>
            html`<label><input type="checkbox" name="chapter" value="${i}" ${chapterChecked(i, c.startMs) ? 'checked' : ''} ${c.startMs === 0 ? 'disabled' : ''}> ${duration(c.startMs)} ${c.title}</label>`,
        )}`
      : ''
  }</div>
<label><input type="checkbox" name="post" value="1" ${has('post') ? 'checked' : ''}> Post-roll (after the episode)</label>
</fieldset>`;
}

/**
 * What Apple Podcasts (and most directories) would reject the feed for, checked on the
 * show itself so the creator sees it before submitting: artwork, an owner e-mail, an Apple
 * category, a description, an episode.
 */
export function appleReadiness(
  show: Show,
  episodeCount: number,
): { ok: boolean; label: string; fix: string }[] {
  return [
    { ok: !!show.artwork, label: 'Square artwork (1400 to 3000 px)', fix: '#artwork-h' },
    {
      ok: !!show.settings?.ownerEmail,
      label: 'Owner e-mail (Apple sends the verification there)',
      fix: '#feed-settings-h',
    },
    {
      ok: show.categories.some((c) => appleCategory(c) !== null),
      label: `An Apple category${show.categories[0] && !appleCategory(show.categories[0]) ? ` ("${show.categories[0]}" is not one: try Technology, Comedy, News…)` : ''}`,
      fix: '#edit-show-h',
    },
    { ok: show.description.trim().length > 0, label: 'A description', fix: '#edit-show-h' },
    { ok: episodeCount > 0, label: 'At least one episode', fix: '#up-h' },
  ];
}

function readinessSection(show: Show, episodeCount: number): Html {
  const items = appleReadiness(show, episodeCount);
  const missing = items.filter((i) => !i.ok).length;
  return html`<section aria-labelledby="ready-h" class="card"><h2 id="ready-h" style="margin-top:0">Ready for Apple Podcasts?</h2>
${missing ? html`<p class="alert warn">${missing} thing(s) missing before Apple Podcasts and Spotify would accept this feed.</p>` : html`<p class="ok">Ready: submit <a href="/shows/${enc(show.slug)}/feed.xml">the feed</a> to Apple Podcasts Connect.</p>`}
<ul class="checklist">${items.map((i) => html`<li class="${i.ok ? 'done' : 'missing'}">${i.ok ? html`${i.label}<span class="sr-only"> (done)</span>` : html`<a href="${i.fix}">${i.label}</a><span class="sr-only"> (missing)</span>`}</li>`)}</ul>
</section>`;
}

/**
 * Where each role's other dashboards are: a creator's own measurement report (downloads,
 * listeners, ad revenue), the ads dashboard for advertisers, and the node-wide report for
 * admins (measure and ads check access again themselves).
 */
export function reportLinks(who: Account): Html[] {
  const links: Html[] = [];
  if (who.role === 'creator' || who.role === 'admin') {
    links.push(
      html`<li><a href="/measure/creator/${enc(who.id)}">Your audience and earnings</a> <span class="meta">downloads, listeners, ad revenue</span></li>`,
    );
  }
  if (who.role === 'advertiser' || who.role === 'admin') {
    links.push(
      html`<li><a href="/ads/dashboard">Ads dashboard</a> <span class="meta">campaigns, creatives, delivery reports</span></li>`,
    );
  }
  if (who.role === 'admin') {
    links.push(
      html`<li><a href="/measure/admin">Node measurement report</a> <span class="meta">every show and campaign</span></li>`,
    );
  }
  return links;
}

/** The creator dashboard: shows, upload with progress, publish, ad breaks, API tokens. */
export function dashboardRoutes(app: FastifyInstance, ctx: CatalogContext, dai: DaiView = noDai): void {
  const guard = async (req: FastifyRequest, reply: FastifyReply): Promise<Account | null> => {
    if (req.method === 'POST' && !sameOrigin(req)) {
      await reply.code(403).type('text/plain').send('cross-site form refused');
      return null;
    }
    const who = await whoIs(ctx, req);
    if (!who) {
      await reply.redirect(`/login?next=${encodeURIComponent(req.url)}`, 303);
      return null;
    }
    return who;
  };

  const home = async (
    who: Account,
    reply: FastifyReply,
    o: { error?: string; token?: string; notice?: string; status?: number } = {},
  ) => {
    const shows = await showsOf(ctx.db, who.id);
    const tokens = await listApiTokens(ctx.db, who.id, ctx.clock);
    const isCreator = who.role === 'creator' || who.role === 'admin';
    return send(
      reply,
      page(
        { title: 'Dashboard', viewer: who },
        html`<h1>Dashboard</h1>${alert(o.error ?? null)}
${o.token ? html`<p class="ok" role="status">Your new API token (shown once): <code>${o.token}</code></p>` : ''}
${o.notice ? html`<p class="ok" role="status">${o.notice}</p>` : ''}
${
  isCreator
    ? html`<section aria-labelledby="shows-h"><h2 id="shows-h">Your shows</h2>
${shows.length ? html`<ul class="list">${shows.map((s) => html`<li><a href="/dashboard/shows/${enc(s.slug)}"><strong>${s.title}</strong></a> <span class="meta">/${s.slug}</span>${s.takenDown ? html` <span class="badge danger">taken down</span>` : ''}</li>`)}</ul>` : html`<p>No shows yet: create the first one below.</p>`}
</section>
<section aria-labelledby="new-h"><h2 id="new-h">New show</h2>
<p><a href="/dashboard/imports">Move an existing show here</a> <span class="hint">from its RSS feed, keeping every episode's GUID</span></p>
<form class="stack" method="post" action="/dashboard/shows">
<label>Title <input name="title" required maxlength="200"></label>
<label>Address <input name="slug" required pattern="[a-z0-9](?:[a-z0-9\\-]{0,62}[a-z0-9])?" maxlength="64"><span class="hint">Lower-case letters, digits and dashes: /shows/<em>address</em></span></label>
<label>Description <textarea name="description" rows="3" maxlength="4000"></textarea></label>
<label>Category <input name="category" placeholder="e.g. technology" maxlength="60"></label>
<label>Language <input name="language" value="en" maxlength="20"></label>
<div><button type="submit">Create show</button></div>
</form></section>`
    : ''
}
<section aria-labelledby="reports-h"><h2 id="reports-h">Reports and tools</h2>
<ul class="list">${reportLinks(who)}</ul>
</section>
<section aria-labelledby="tok-h"><h2 id="tok-h">API tokens</h2>
<p>For <code>swarmcast publish</code> and scripts (<code>Authorization: Bearer …</code>). Each expires after ${String(apiTokenDefaultDays)} days.</p>
${
  tokens.length
    ? html`<ul class="list">${tokens.map(
        (t) =>
          html`<li>${t.label} <span class="meta">created ${t.createdAt.toISOString().slice(0, 10)}, ${t.expiresAt ? (t.expired ? 'expired' : `expires ${t.expiresAt.toISOString().slice(0, 10)}`) : 'never expires'}</span>
<form method="post" action="/dashboard/tokens/${t.id}/revoke"><button type="submit" class="secondary">Revoke</button></form></li>`,
      )}</ul>`
    : html`<p>No API tokens.</p>`
}
<form method="post" action="/dashboard/tokens"><button type="submit" class="secondary">Create an API token</button></form>
</section>
<section aria-labelledby="pw-h"><h2 id="pw-h">Password</h2>
<p>Changing it logs out every other session and revokes every API token.</p>
<form class="stack" method="post" action="/dashboard/password">
<label>Current password <input type="password" name="current" autocomplete="current-password" required></label>
<label>New password <input type="password" name="password" autocomplete="new-password" required minlength="10"></label>
<div><button type="submit">Change password</button></div>
</form></section>`,
      ),
      o.status,
    );
  };

  app.get('/dashboard', async (req, reply) => {
    const who = await guard(req, reply);
    return who ? home(who, reply) : reply;
  });

  app.post<{ Body: FormBody }>('/dashboard/shows', async (req, reply) => {
    const who = await guard(req, reply);
    if (!who) return reply;
    const f = req.body ?? {};
    const category = one(f, 'category').trim();
    const r = await createShow(ctx.db, who, {
      slug: one(f, 'slug'),
      title: one(f, 'title'),
      description: one(f, 'description'),
      language: one(f, 'language') || 'en',
      categories: category ? [category] : [],
    });
    if (!r.ok) return home(who, reply, { error: r.message, status: r.status });
    return reply.redirect(`/dashboard/shows/${enc(r.value.slug)}`, 303);
  });

  app.post('/dashboard/tokens', async (req, reply) => {
    const who = await guard(req, reply);
    if (!who) return reply;
    const expiresAt = new Date(ctx.clock.now() + apiTokenDefaultDays * 86_400_000);
    return home(who, reply, { token: await createApiToken(ctx.db, who.id, 'dashboard', expiresAt) });
  });

  app.post<{ Params: { id: string } }>('/dashboard/tokens/:id/revoke', async (req, reply) => {
    const who = await guard(req, reply);
    if (!who) return reply;
    const r = await revokeApiToken(ctx.db, who.id, req.params.id);
    if (!r.ok) return home(who, reply, { error: r.message, status: r.status });
    return home(who, reply, { notice: 'The token is revoked.' });
  });

  app.post<{ Body: FormBody }>('/dashboard/password', async (req, reply) => {
    const who = await guard(req, reply);
    if (!who) return reply;
    const f = req.body ?? {};
    const r = await changePassword(
      ctx.db,
      who.id,
      one(f, 'current'),
      one(f, 'password'),
      readCookie(req.headers.cookie, sessionCookie),
    );
    if (!r.ok) return home(who, reply, { error: r.message, status: r.status });
    return home(who, reply, {
      notice: `Password changed; ${r.value.revoked} other session(s) and token(s) revoked.`,
    });
  });

  const showPage = async (
    who: Account,
    show: Show,
    reply: FastifyReply,
    error: string | null = null,
    status = 200,
    draft?: Draft,
  ) => {
    const episodes = await episodesOfShow(ctx.db, show.id, 500, { all: true });
    const daiStatus = await showDaiStatus(ctx, show, dai);
    const kept = draft?.upload ?? null;
    return send(
      reply,
      page(
        {
          title: `${show.title} · Dashboard`,
          viewer: who,
          head: html`<script src="/assets/dashboard.js" defer></script>`,
        },
        html`<p class="meta"><a href="/dashboard">Dashboard</a> › ${show.title}</p>
<h1>${show.title}</h1>
${
  show.takenDown
    ? html`<p class="alert danger" role="alert">The node's admins took this show down on ${day(new Date(show.takenDown.at))}: ${show.takenDown.reason}. Its page, feed and episodes are hidden from listeners and nothing of it is seeded; your work is kept. Ask the admins to reinstate it.</p>`
    : html`<p><a href="/shows/${enc(show.slug)}">Public page</a> · <a href="/shows/${enc(show.slug)}/feed.xml">RSS feed</a></p>`
}
${alert(error)}
${readinessSection(show, episodes.length)}
<section aria-labelledby="up-h"><h2 id="up-h">Publish an episode</h2>
<form class="stack" id="upload-form" data-upload-url="/api/uploads">
${fieldError('upload-error', draft, 'upload')}
<label>${kept ? 'Replace the media file' : 'Media file'} <input type="file" id="media-file" accept="audio/*,video/*" ${kept ? '' : 'required'}>
<span class="hint">MP3, M4A, MP4, Ogg, WebM, FLAC or WAV.</span></label>
<div><button type="submit" id="upload-button">Upload</button></div>
<progress id="upload-progress" max="100" value="0" hidden aria-label="Upload progress"></progress>
<p id="upload-status" role="status" aria-live="polite"${kept ? raw(' class="ok"') : ''}>${
          kept
            ? `Your file ${kept.originalName || 'upload'} (${kept.probe.mediaKind}, ${duration(kept.probe.durationMs)}) is uploaded and kept: fix what is marked and publish.`
            : ''
        }</p>
</form>
<form class="stack" id="publish-form" method="post" action="/dashboard/shows/${enc(show.slug)}/publish"${kept ? '' : raw(' hidden')}>
${draft?.error?.field === 'form' ? alert(draft.error.message) : ''}
<input type="hidden" name="uploadId" id="upload-id" value="${kept?.id ?? ''}">
<label>Episode title <input name="title" id="episode-title" required maxlength="200" value="${draft ? one(draft.form, 'title') : ''}"${invalid(draft, 'title', 'title-error')}>${fieldError('title-error', draft, 'title')}</label>
<label>Description <textarea name="description" rows="4" maxlength="10000">${draft ? one(draft.form, 'description') : ''}</textarea></label>
${publishTimingFields(draft?.form ?? null)}
${breaksFields(null, draft)}
<div><button type="submit" id="publish-button">Publish</button></div>
</form></section>
<section aria-labelledby="eps-h"><h2 id="eps-h">Episodes</h2>
${
  episodes.length
    ? html`<div class="table-wrap"><table class="stack-sm" aria-labelledby="eps-h"><thead><tr><th scope="col">Title</th><th scope="col">Length</th><th scope="col">Ad breaks</th><th scope="col">Views</th><th scope="col">Status</th></tr></thead><tbody>
${episodes.map((e) => html`<tr><td><a href="/episodes/${enc(e.id)}">${e.title}</a></td><td data-label="Length">${duration(e.durationMs)}</td><td data-label="Ad breaks"><a href="/dashboard/episodes/${enc(e.id)}">${e.adBreaks.length ? e.adBreaks.map((b) => (b.position === 'mid' ? `mid ${duration(b.offsetMs)}` : b.position)).join(', ') : 'none'}<span class="sr-only"> (edit ${e.title})</span></a></td><td data-label="Views">${e.views}</td><td data-label="Status">${statusCell(e, ctx.clock.now())}</td></tr>`)}
</tbody></table></div>`
    : html`<p>No episodes yet.</p>`
}</section>
<section aria-labelledby="edit-show-h"><h2 id="edit-show-h">Edit the show</h2>
<form class="stack" method="post" action="/dashboard/shows/${enc(show.slug)}/edit">
<label>Title <input name="title" required maxlength="200" value="${show.title}"></label>
<label>Description <textarea name="description" rows="3" maxlength="4000">${show.description}</textarea></label>
<label>Category <input name="category" maxlength="60" value="${show.categories[0] ?? ''}"></label>
<label>Language <input name="language" maxlength="20" value="${show.language}"></label>
<div><button type="submit">Save show</button></div>
</form>
<h3 id="artwork-h">Artwork</h3>
${show.artwork ? html`<p><img src="/media/${show.artwork.split('/').map(enc).join('/')}" alt="Current artwork" width="160" height="160"></p>` : html`<p class="hint">No artwork yet.</p>`}
<form class="stack" id="artwork-form" data-artwork-url="/api/shows/${enc(show.slug)}/artwork">
<label>Square PNG or JPEG, 1400 to 3000 pixels, at most 2 MB <input type="file" id="artwork-file" accept="image/png,image/jpeg" required></label>
<div><button type="submit">Save artwork</button></div>
<p id="artwork-status" role="status" aria-live="polite"></p>
</form>
</section>
${feedSettingsSection(show)}
${daiSection(show, daiStatus)}
<section aria-labelledby="danger-h"><h2 id="danger-h">Delete</h2>
<form method="post" action="/dashboard/shows/${enc(show.slug)}/delete" data-confirm="Delete “${show.title}” and its ${episodes.length} episode(s)? Listeners lose them and this cannot be undone."><button type="submit" class="danger">Delete this show and all its episodes</button></form>
</section>`,
      ),
      status,
    );
  };

  app.post<{ Params: { slug: string }; Body: FormBody }>(
    '/dashboard/shows/:slug/edit',
    async (req, reply) => {
      const who = await guard(req, reply);
      if (!who) return reply;
      const f = req.body ?? {};
      const category = one(f, 'category').trim();
      const r = await updateShow(ctx, who, req.params.slug, {
        title: one(f, 'title'),
        description: one(f, 'description'),
        language: one(f, 'language') || 'en',
        categories: category ? [category] : [],
      });
      if (!r.ok) {
        const show = await showForEditing(ctx.db, who, req.params.slug);
        if (!show.ok)
          return send(
            reply,
            page({ title: 'Not yours', viewer: who }, html`<h1>${show.message}</h1>`),
            show.status,
          );
        return showPage(who, show.value, reply, r.message, r.status);
      }
      return reply.redirect(`/dashboard/shows/${enc(r.value.slug)}`, 303);
    },
  );

  app.post<{ Params: { slug: string }; Body: FormBody }>(
    '/dashboard/shows/:slug/settings',
    async (req, reply) => {
      const who = await guard(req, reply);
      if (!who) return reply;
      const r = await updateFeedSettings(ctx, who, req.params.slug, feedSettingsFromForm(req.body ?? {}));
      if (!r.ok) {
        const show = await showForEditing(ctx.db, who, req.params.slug);
        if (!show.ok)
          return send(
            reply,
            page({ title: 'Not yours', viewer: who }, html`<h1>${show.message}</h1>`),
            show.status,
          );
        return showPage(who, show.value, reply, r.message, r.status);
      }
      return reply.redirect(`/dashboard/shows/${enc(r.value.slug)}`, 303);
    },
  );

  app.post<{ Params: { slug: string } }>('/dashboard/shows/:slug/delete', async (req, reply) => {
    const who = await guard(req, reply);
    if (!who) return reply;
    const r = await deleteShow(ctx, who, req.params.slug);
    if (!r.ok)
      return send(reply, page({ title: 'Not yours', viewer: who }, html`<h1>${r.message}</h1>`), r.status);
    return reply.redirect('/dashboard', 303);
  });

  app.get<{ Params: { slug: string } }>('/dashboard/shows/:slug', async (req, reply) => {
    const who = await guard(req, reply);
    if (!who) return reply;
    const show = await showForEditing(ctx.db, who, req.params.slug);
    if (!show.ok)
      return send(
        reply,
        page({ title: 'Not yours', viewer: who }, html`<h1>${show.message}</h1>`),
        show.status,
      );
    return showPage(who, show.value, reply);
  });

  app.post<{ Params: { slug: string }; Body: FormBody }>(
    '/dashboard/shows/:slug/publish',
    async (req, reply) => {
      const who = await guard(req, reply);
      if (!who) return reply;
      const show = await showForEditing(ctx.db, who, req.params.slug);
      if (!show.ok)
        return send(
          reply,
          page({ title: 'Not yours', viewer: who }, html`<h1>${show.message}</h1>`),
          show.status,
        );
      const f = req.body ?? {};
      // On any error the form comes back as sent, with the uploaded file still attached.
      const upload = await getUpload(ctx, who, one(f, 'uploadId'));
      const again = (field: NonNullable<Draft['error']>['field'], message: string, status: number) =>
        showPage(who, show.value, reply, null, status, {
          form: f,
          upload: upload.ok ? upload.value : null,
          error: {
            field: upload.ok ? field : 'upload',
            message: upload.ok ? message : 'Upload the media file first.',
          },
        });
      if (!upload.ok) return again('upload', upload.message, 422);
      const breaks = adBreaksFromForm(f);
      if (!breaks.ok) return again('breaks', breaks.message, 422);
      const r = await publishEpisode(ctx, who, {
        showSlug: show.value.slug,
        uploadId: one(f, 'uploadId'),
        title: one(f, 'title'),
        description: one(f, 'description'),
        adBreaks: breaks.value,
        ...publishTimingFromForm(f),
      });
      if (!r.ok) return again(fieldOf(r.code, r.message), r.message, r.status);
      return reply.redirect(`/episodes/${enc(r.value.id)}`, 303);
    },
  );

  const breaksPage = (
    who: Account,
    e: EpisodeDetail,
    reply: FastifyReply,
    error: string | null,
    status = 200,
    saved = false,
  ) =>
    send(
      reply,
      page(
        {
          title: `Ad breaks · ${e.title}`,
          viewer: who,
          head: html`<script src="/assets/dashboard.js" defer></script>`,
        },
        html`<p class="meta"><a href="/dashboard">Dashboard</a> › <a href="/dashboard/shows/${enc(e.show.slug)}">${e.show.title}</a></p>
<h1>Ad breaks: ${e.title}</h1>${alert(error)}${saved ? html`<p class="ok" role="status">Saved.</p>` : ''}
<p class="meta">Length ${duration(e.durationMs)}</p>
<form class="stack" method="post" action="/dashboard/episodes/${enc(e.id)}/ad-breaks">
${breaksFields(e)}
<div><button type="submit">Save ad breaks</button></div></form>
<h2>Title and description</h2>
<form class="stack" method="post" action="/dashboard/episodes/${enc(e.id)}/edit">
<label>Episode title <input name="title" required maxlength="200" value="${e.title}"></label>
<label>Description <textarea name="description" rows="4" maxlength="10000">${e.description}</textarea></label>
${episodeFeatureFields(e)}
<div><button type="submit">Save</button></div></form>
${scheduleSection(e, ctx.clock.now())}
${episodeExtrasSection(e)}
<h2>Delete</h2>
<form method="post" action="/dashboard/episodes/${enc(e.id)}/delete" data-confirm="Delete the episode “${e.title}”? Listeners lose it and this cannot be undone."><button type="submit" class="danger">Delete this episode</button></form>`,
      ),
      status,
    );

  const ownEpisode = async (who: Account, id: string, reply: FastifyReply) => {
    const e = await getEpisode(ctx.db, id);
    if (!e) {
      await send(reply, page({ title: 'Not found', viewer: who }, html`<h1>No such episode</h1>`), 404);
      return null;
    }
    if (e.show.ownerId !== who.id && who.role !== 'admin') {
      await send(
        reply,
        page({ title: 'Not yours', viewer: who }, html`<h1>This episode belongs to another creator</h1>`),
        403,
      );
      return null;
    }
    return e;
  };

  app.get<{ Params: { id: string }; Querystring: { saved?: string } }>(
    '/dashboard/episodes/:id',
    async (req, reply) => {
      const who = await guard(req, reply);
      if (!who) return reply;
      const e = await ownEpisode(who, req.params.id, reply);
      return e ? breaksPage(who, e, reply, null, 200, req.query.saved === '1') : reply;
    },
  );

  app.post<{ Params: { id: string }; Body: FormBody }>('/dashboard/episodes/:id/edit', async (req, reply) => {
    const who = await guard(req, reply);
    if (!who) return reply;
    const e = await ownEpisode(who, req.params.id, reply);
    if (!e) return reply;
    const f = req.body ?? {};
    const r = await updateEpisode(ctx, who, e.id, {
      ...episodeFeaturesFromForm(f),
      title: one(f, 'title'),
      description: one(f, 'description'),
    });
    if (!r.ok) return breaksPage(who, e, reply, r.message, r.status);
    return reply.redirect(`/dashboard/episodes/${enc(e.id)}?saved=1`, 303);
  });

  app.post<{ Params: { id: string } }>('/dashboard/episodes/:id/delete', async (req, reply) => {
    const who = await guard(req, reply);
    if (!who) return reply;
    const e = await ownEpisode(who, req.params.id, reply);
    if (!e) return reply;
    const r = await deleteEpisode(ctx, who, e.id);
    if (!r.ok) return breaksPage(who, e, reply, r.message, r.status);
    return reply.redirect(`/dashboard/shows/${enc(e.show.slug)}`, 303);
  });

  app.post<{ Params: { id: string }; Body: FormBody }>(
    '/dashboard/episodes/:id/ad-breaks',
    async (req, reply) => {
      const who = await guard(req, reply);
      if (!who) return reply;
      const e = await ownEpisode(who, req.params.id, reply);
      if (!e) return reply;
      const breaks = adBreaksFromForm(req.body ?? {});
      if (!breaks.ok) return breaksPage(who, e, reply, breaks.message, 422);
      const r = await setAdBreaks(ctx.db, who, e.id, breaks.value);
      if (!r.ok) return breaksPage(who, e, reply, r.message, r.status);
      return reply.redirect(`/dashboard/episodes/${enc(e.id)}?saved=1`, 303);
    },
  );
}

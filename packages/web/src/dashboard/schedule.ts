import { type CatalogContext, type EpisodeDetail, episodeStatus, scheduleEpisode } from '@swarmcast/catalog';
import { type Html, html, page } from '@swarmcast/platform';
import type { FastifyInstance } from 'fastify';
import { sameOrigin, whoIs } from '../auth.ts';
import { enc } from '../portal/fragments.ts';
import { type FormBody, one } from './form.ts';

/**
 * Drafts and scheduled publishing in the dashboard (issue 16): fields on the publish form,
 * a status column, and the episode page's form. Times are entered and shown in UTC
 * (datetime-local has no zone; saying so beats guessing the creator's).
 */
const local = (d: Date) => d.toISOString().slice(0, 16);

export function statusCell(e: EpisodeDetail, now: number): Html {
  // Not "draft": its creator could not publish it, and would not know why.
  if (e.takenDown) return html`<span class="badge danger">taken down by an admin</span>`;
  const s = episodeStatus(e, now);
  return s === 'scheduled'
    ? html`scheduled for <time datetime="${e.publishedAt.toISOString()}">${local(e.publishedAt).replace('T', ' ')} UTC</time>`
    : html`${s}`;
}

export function publishTimingFields(form: FormBody | null): Html {
  return html`<fieldset><legend>When</legend>
<label><input type="checkbox" name="draft" value="1" ${form && one(form, 'draft') ? 'checked' : ''}> Save as a draft (nobody sees it until you publish it)</label>
<label>Publish at (UTC, optional) <input type="datetime-local" name="publishAt" value="${form ? one(form, 'publishAt') : ''}"><span class="hint">Empty: now. A later time schedules it; the feed updates then.</span></label>
</fieldset>`;
}

/** The publish form's timing as publishEpisode input (a bad time is refused by the catalog). */
export function publishTimingFromForm(f: FormBody): { draft: boolean; publishedAt?: Date } {
  const at = one(f, 'publishAt').trim();
  return {
    draft: one(f, 'draft') === '1',
    ...(at ? { publishedAt: new Date(/[zZ]|[+-]\d\d:\d\d$/.test(at) ? at : `${at}Z`) } : {}),
  };
}

export function scheduleSection(e: EpisodeDetail, now: number): Html {
  const s = episodeStatus(e, now);
  return html`<h2 id="schedule-h">Publishing</h2>
<p role="status">This episode is <strong>${s}</strong>${s === 'scheduled' ? html` and goes live at ${local(e.publishedAt).replace('T', ' ')} UTC` : ''}. Its GUID <code>${e.guid}</code> never changes.</p>
<form class="stack" method="post" action="/dashboard/episodes/${enc(e.id)}/schedule" aria-labelledby="schedule-h">
<label>Publish at (UTC) <input type="datetime-local" name="publishAt" value="${local(e.publishedAt)}"></label>
<div><button type="submit" name="draft" value="0">${s === 'published' ? 'Save time' : 'Publish (at this time)'}</button>
${s !== 'draft' ? html`<button type="submit" name="draft" value="1" class="secondary">Back to draft</button>` : ''}</div>
</form>`;
}

export function scheduleRoutes(app: FastifyInstance, ctx: CatalogContext): void {
  app.post<{ Params: { id: string }; Body: FormBody }>(
    '/dashboard/episodes/:id/schedule',
    async (req, reply) => {
      if (!sameOrigin(req)) return reply.code(403).type('text/plain').send('cross-site form refused');
      const who = await whoIs(ctx, req);
      if (!who) return reply.redirect('/login', 303);
      const f = req.body ?? {};
      const at = one(f, 'publishAt').trim();
      const r = await scheduleEpisode(ctx, who, req.params.id, {
        draft: one(f, 'draft') === '1',
        ...(at ? { publishAt: /[zZ]|[+-]\d\d:\d\d$/.test(at) ? at : `${at}Z` } : {}),
      });
      if (!r.ok)
        return reply
          .code(r.status)
          .type('text/html; charset=utf-8')
          .send(
            page(
              { title: 'Not saved', viewer: who, crumbs: [['/dashboard', 'Dashboard']] },
              html`<h1>Not saved</h1><p class="error" role="alert">${r.message}</p><p><a href="/dashboard/episodes/${enc(req.params.id)}">Back to the episode</a></p>`,
            ),
          );
      return reply.redirect(`/dashboard/episodes/${enc(r.value.id)}#schedule-h`, 303);
    },
  );
}

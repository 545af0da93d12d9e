/**
 * The creator's view and switch of dynamic ad insertion (ads stitched into the enclosure
 * podcast apps download), per show: `PUT /api/shows/:slug/dai` and `GET` of the same, and
 * the dashboard's "Ads in podcast apps" section with its on/off button and, per episode
 * with ad breaks, whether listeners get the ads or the clean file and why (an M4A episode:
 * "AAC stitching not supported yet"), with the episode's own switch
 * (`PUT /api/shows/:slug/episodes/:id/dai`, the row's button).
 */
import {
  type CatalogContext,
  daiEnabled,
  daiOffEpisodes,
  type EpisodeDetail,
  episodesOfShow,
  type Show,
  setDai,
  setEpisodeDai,
  showForEditing,
} from '@swarmcast/catalog';
import { type Html, html, page } from '@swarmcast/platform';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { apiCaller, sameOrigin, sendFailure, whoIs } from '../auth.ts';
import { enc } from '../portal/fragments.ts';

/** What the dashboard needs of the node's stitcher (node/dai.ts), injected by the server. */
export interface DaiView {
  /** Does this node serve stitched enclosures at all? */
  mounted(): boolean;
  /** Why the last listener of this episode got the plain file, if they did. */
  reasonOf(episodeId: string): { reason: string; detail: string } | undefined;
  /** The creator switched DAI: drop what the stitcher cached about shows. */
  changed(): void;
}

export const noDai: DaiView = { mounted: () => false, reasonOf: () => undefined, changed: () => {} };

export interface EpisodeDaiStatus {
  episodeId: string;
  title: string;
  /** `stitched`: podcast apps get the ads; `plain`: the clean file, for `reason`. */
  state: 'stitched' | 'plain';
  reason: string | null;
  /** The sentence the creator reads. */
  text: string;
  /** The episode's own switch (the show's aside). */
  episodeDai: boolean;
}

const aacMimes = new Set(['audio/mp4', 'audio/x-m4a', 'audio/m4a', 'audio/aac', 'audio/aacp', 'video/mp4']);

/**
 * Whether podcast apps get this episode with ads, and why not. The static reasons come from
 * the catalog (breaks, the switch, the format: the same rules as the stitcher's, dai.ts);
 * a failure the stitcher met at request time (unreadable file, no ad ready) is added from
 * its last answer.
 */
export function episodeDaiStatus(
  e: EpisodeDetail,
  showDai: boolean,
  view: DaiView,
  episodeDai = true,
): EpisodeDaiStatus {
  const base = { episodeId: e.id, title: e.title, episodeDai };
  const plain = (reason: string, text: string): EpisodeDaiStatus => ({
    ...base,
    state: 'plain',
    reason,
    text,
  });
  if (e.adBreaks.length === 0) return plain('no-breaks', 'no ad breaks: nothing is inserted');
  if (!view.mounted()) return plain('not-mounted', 'this node does not insert ads into files');
  if (!showDai) return plain('dai-off', 'off for this show: podcast apps get the clean file');
  if (!episodeDai) return plain('episode-off', 'off for this episode: podcast apps get the clean file');
  if (e.mediaKind !== 'audio')
    return plain('video', 'video: ads are not stitched into video files; our player inserts them');
  const mime = e.media?.mime ?? '';
  if (mime !== 'audio/mpeg') {
    const aac = aacMimes.has(mime) || /mp4|m4a|aac/i.test(e.media?.container ?? '');
    return plain(
      'unsupported-format',
      aac
        ? 'ads not inserted: AAC (M4A/MP4) stitching not supported yet; listeners get the clean file'
        : `ads not inserted: ${mime || 'this format'} stitching not supported; listeners get the clean file`,
    );
  }
  const last = view.reasonOf(e.id);
  if (last && !['no-breaks', 'dai-off', 'video'].includes(last.reason)) {
    const why = last.detail ? ` (${last.detail.slice(0, 200)})` : '';
    if (last.reason === 'no-ads')
      return plain('no-ads', `no ad was ready for the last listener${why}: they got the clean file`);
    if (last.reason === 'content-unreadable')
      return plain(
        last.reason,
        `ads not inserted: the file could not be read as MP3${why}; listeners get the clean file`,
      );
    return plain(last.reason, `ads not inserted${why}; listeners get the clean file`);
  }
  return { ...base, state: 'stitched', reason: null, text: 'ads inserted for podcast-app listeners' };
}

export async function showDaiStatus(
  ctx: CatalogContext,
  show: Show,
  view: DaiView,
): Promise<{ dai: boolean; mounted: boolean; episodes: EpisodeDaiStatus[] }> {
  const dai = await daiEnabled(ctx.db, show.id);
  const episodes = await episodesOfShow(ctx.db, show.id, 500, { all: true });
  const off = await daiOffEpisodes(ctx.db, show.id);
  return {
    dai,
    mounted: view.mounted(),
    episodes: episodes
      .filter((e) => e.adBreaks.length > 0)
      .map((e) => episodeDaiStatus(e, dai, view, !off.has(e.id))),
  };
}

/** The dashboard section: the switch and the status of every episode with ad breaks. */
export function daiSection(show: Show, status: Awaited<ReturnType<typeof showDaiStatus>>): Html {
  return html`<section aria-labelledby="dai-h"><h2 id="dai-h">Ads in podcast apps</h2>
<p>Podcast apps (Apple Podcasts, Spotify, Overcast…) download the episode file and never run our player. With this on, the file they get has the ads stitched in at your ad breaks, counted and paid as delivered ads. The swarm and BitTorrent clients always carry the clean file.</p>
<p id="dai-state" role="status">Ads in podcast apps are <strong>${status.dai ? 'on' : 'off'}</strong> for this show.${status.mounted ? '' : ' This node does not insert ads into files.'}</p>
<form method="post" action="/dashboard/shows/${enc(show.slug)}/dai"><input type="hidden" name="enabled" value="${status.dai ? 'off' : 'on'}"><button type="submit"${status.dai ? ' class="secondary"' : ''}>${status.dai ? 'Turn off ads in podcast apps' : 'Turn on ads in podcast apps'}</button></form>
${
  status.episodes.length
    ? html`<div class="table-wrap"><table id="dai-episodes"><thead><tr><th scope="col">Episode</th><th scope="col">Podcast apps get</th><th scope="col">This episode</th></tr></thead><tbody>
${status.episodes.map((e) => html`<tr data-episode="${e.episodeId}" data-state="${e.state}"><td>${e.title}</td><td>${e.text}</td><td><form method="post" action="/dashboard/shows/${enc(show.slug)}/episodes/${enc(e.episodeId)}/dai"><input type="hidden" name="enabled" value="${e.episodeDai ? 'off' : 'on'}"><button type="submit" class="secondary">${e.episodeDai ? 'Turn off for this episode' : 'Turn on for this episode'}</button></form></td></tr>`)}
</tbody></table></div>`
    : html`<p class="hint">No episode has ad breaks yet.</p>`
}</section>`;
}

/** `GET|PUT /api/shows/:slug/dai` and the dashboard form `POST /dashboard/shows/:slug/dai`. */
export function daiRoutes(app: FastifyInstance, ctx: CatalogContext, view: DaiView): void {
  const account = (req: FastifyRequest, reply: FastifyReply) => apiCaller(ctx, req, reply);
  const switched = (slug: string) => {
    view.changed();
    // The feed's enclosures change (stitched URL or plain file): the same notices as any edit.
    ctx.onFeedChange?.(slug);
  };

  app.get<{ Params: { slug: string } }>('/api/shows/:slug/dai', async (req, reply) => {
    const who = await account(req, reply);
    if (!who) return reply;
    const show = await showForEditing(ctx.db, who, req.params.slug);
    if (!show.ok) return sendFailure(reply, show);
    return showDaiStatus(ctx, show.value, view);
  });

  app.put<{ Params: { slug: string } }>('/api/shows/:slug/dai', async (req, reply) => {
    const who = await account(req, reply);
    if (!who) return reply;
    const enabled = (req.body as { enabled?: unknown } | null)?.enabled;
    if (typeof enabled !== 'boolean')
      return sendFailure(reply, { code: 'CAT_BAD_INPUT', message: 'enabled: true or false', status: 400 });
    const r = await setDai(ctx.db, who, req.params.slug, enabled);
    if (!r.ok) return sendFailure(reply, r);
    switched(req.params.slug);
    const show = await showForEditing(ctx.db, who, req.params.slug);
    return show.ok ? showDaiStatus(ctx, show.value, view) : { dai: enabled };
  });

  app.put<{ Params: { slug: string; episodeId: string } }>(
    '/api/shows/:slug/episodes/:episodeId/dai',
    async (req, reply) => {
      const who = await account(req, reply);
      if (!who) return reply;
      const enabled = (req.body as { enabled?: unknown } | null)?.enabled;
      if (typeof enabled !== 'boolean')
        return sendFailure(reply, { code: 'CAT_BAD_INPUT', message: 'enabled: true or false', status: 400 });
      const r = await setEpisodeDai(ctx.db, who, req.params.slug, req.params.episodeId, enabled);
      if (!r.ok) return sendFailure(reply, r);
      switched(req.params.slug);
      const show = await showForEditing(ctx.db, who, req.params.slug);
      return show.ok ? showDaiStatus(ctx, show.value, view) : { dai: enabled };
    },
  );

  app.post<{
    Params: { slug: string; episodeId: string };
    Body: Record<string, string | string[] | undefined>;
  }>('/dashboard/shows/:slug/episodes/:episodeId/dai', async (req, reply) => {
    if (!sameOrigin(req)) return reply.code(403).type('text/plain').send('cross-site form refused');
    const who = await whoIs(ctx, req);
    if (!who) return reply.redirect(`/login?next=${encodeURIComponent(req.url)}`, 303);
    const enabled = req.body?.enabled === 'on';
    const r = await setEpisodeDai(ctx.db, who, req.params.slug, req.params.episodeId, enabled);
    if (!r.ok)
      return reply
        .code(r.status)
        .type('text/html; charset=utf-8')
        .send(String(page({ title: 'Not yours', viewer: who }, html`<h1>${r.message}</h1>`)));
    switched(req.params.slug);
    return reply.redirect(`/dashboard/shows/${enc(req.params.slug)}#dai-h`, 303);
  });

  app.post<{ Params: { slug: string }; Body: Record<string, string | string[] | undefined> }>(
    '/dashboard/shows/:slug/dai',
    async (req, reply) => {
      if (!sameOrigin(req)) return reply.code(403).type('text/plain').send('cross-site form refused');
      const who = await whoIs(ctx, req);
      if (!who) return reply.redirect(`/login?next=${encodeURIComponent(req.url)}`, 303);
      const enabled = req.body?.enabled === 'on';
      const r = await setDai(ctx.db, who, req.params.slug, enabled);
      if (!r.ok)
        return reply
          .code(r.status)
          .type('text/html; charset=utf-8')
          .send(String(page({ title: 'Not yours', viewer: who }, html`<h1>${r.message}</h1>`)));
      switched(req.params.slug);
      return reply.redirect(`/dashboard/shows/${enc(req.params.slug)}#dai-h`, 303);
    },
  );
}

import {
  absentMedia,
  type CatalogContext,
  daiEnabled,
  daiOffEpisodes,
  episodesOfShow,
  getEpisode,
  getShow,
  isLive,
  latestEpisodes,
  mediaPresent,
  type PageViewRecorder,
  popularShows,
  renderChapters,
  renderFeed,
  sanitizeNotes,
  search,
  showPublicKey,
  torrentFile,
} from '@swarmcast/catalog';
import { html, page, raw as trusted } from '@swarmcast/platform';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { whoIs } from '../auth.ts';
import type { SiteUrls } from '../urls.ts';
import { embedSection } from './embed.ts';
import {
  artwork,
  bytes,
  day,
  duration,
  enc,
  episodeArt,
  episodeCard,
  searchHit,
  showCard,
  subscribeSection,
} from './fragments.ts';
import type { ReadCache } from './read-cache.ts';
import { captionTracks, transcriptLinks } from './transcript-fragments.ts';

function sendPage(reply: FastifyReply, body: string, status = 200) {
  return reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
}

/** What the portal's pages share across requests (see read-cache.ts). */
export interface PortalState {
  cache: ReadCache;
  /** Episode page views (the catalog's page-views.ts); null: not counted. */
  views: PageViewRecorder | null;
  /** The node serves stitched enclosures (dynamic ad insertion) at /dai. */
  daiMounted?: () => boolean;
}

/**
 * The public portal: home, search, show and episode pages, feeds and torrents. Reads go
 * through `state.cache`; an episode page is sent once its view is on the event stream
 * (counted into the episode by the catalog's consumer, in batches).
 */
export function portalRoutes(
  app: FastifyInstance,
  ctx: CatalogContext,
  urls: SiteUrls,
  state: PortalState,
): void {
  const { cache } = state;
  const showWithEpisodes = (slug: string) =>
    cache.get(`show:${slug}`, async () => {
      const show = await getShow(ctx.db, slug);
      if (!show) return null;
      const episodes = await episodesOfShow(ctx.db, show.id, 1000, { now: ctx.clock.now() });
      return {
        show,
        episodes,
        // Episodes whose file is not in this node's media folder (checked as often as the
        // cache reloads): left out of the feed, marked on the pages.
        absent: await absentMedia(ctx.mediaDir, episodes),
        // The show's BEP 46 key, once the node has published it on the DHT.
        showKey: await showPublicKey(ctx.db, show.id),
      };
    });
  const notFound = async (reply: FastifyReply, viewer: Awaited<ReturnType<typeof whoIs>>, what: string) =>
    sendPage(
      reply,
      page({ title: 'Not found', viewer }, html`<h1>Not found</h1><p>${what}</p><p><a href="/">Home</a></p>`),
      404,
    );
  // A show an admin took down (catalog takedown.ts): gone for everyone, the record kept.
  const goneShow = async (reply: FastifyReply, viewer: Awaited<ReturnType<typeof whoIs>>) =>
    sendPage(
      reply,
      page(
        { title: 'Not available', viewer },
        html`<h1>This show is not available</h1><p>The node's admins took it down.</p><p><a href="/">Home</a></p>`,
      ),
      410,
    );

  app.get('/', async (req, reply) => {
    const viewer = await whoIs(ctx, req);
    const { latest, popular } = await cache.get('home', async () => ({
      latest: await latestEpisodes(ctx.db, 12, ctx.clock.now()),
      popular: await popularShows(ctx.db, 8, ctx.clock.now()),
    }));
    return sendPage(
      reply,
      page(
        { title: 'Home', viewer },
        html`<h1>Listen and watch, peer to peer</h1>
<section aria-labelledby="latest-h"><h2 id="latest-h">Latest episodes</h2>
${latest.length ? html`<ul class="grid">${latest.map((e) => episodeCard(e, true, urls.media))}</ul>` : html`<p>Nothing published yet. <a href="/signup">Sign up</a> to publish the first show.</p>`}
</section>
<section aria-labelledby="popular-h"><h2 id="popular-h">Popular shows</h2>
${popular.length ? html`<ul class="grid">${popular.map((s) => showCard(s, urls.media))}</ul>` : html`<p>No shows yet.</p>`}
</section>`,
      ),
    );
  });

  app.get<{ Querystring: { q?: string } }>('/search', async (req, reply) => {
    const viewer = await whoIs(ctx, req);
    const q = typeof req.query.q === 'string' ? req.query.q.slice(0, 200) : '';
    const hits = q ? await cache.get(`search:${q}`, () => search(ctx.db, q, 40, ctx.clock.now())) : [];
    return sendPage(
      reply,
      page(
        { title: q ? `Search: ${q}` : 'Search', viewer, query: q },
        html`<h1>Search</h1>
${q ? html`<p role="status">${hits.length} result${hits.length === 1 ? '' : 's'} for “${q}”</p>` : html`<p>Type words from a show or episode title or description.</p>`}
<ul class="list">${hits.map(searchHit)}</ul>`,
      ),
    );
  });

  app.get<{ Params: { slug: string } }>('/shows/:slug', async (req, reply) => {
    const viewer = await whoIs(ctx, req);
    const found = await showWithEpisodes(req.params.slug);
    if (!found) return notFound(reply, viewer, 'There is no show at this address.');
    if (found.show.takenDown) return goneShow(reply, viewer);
    const { show, episodes, absent } = found;
    const feed = urls.feed(show.slug);
    return sendPage(
      reply,
      page(
        {
          title: show.title,
          viewer,
          head: html`<link rel="alternate" type="application/rss+xml" title="${show.title}" href="${feed}">`,
        },
        html`${artwork(show, urls.media, 200)}<h1>${show.title}</h1>
<p class="meta">${show.author}${show.categories.length ? ` · ${show.categories.join(', ')}` : ''} · ${show.language}</p>
<p>${show.description}</p>
${subscribeSection(feed, show.title)}
<h2>Episodes</h2>
${episodes.length ? html`<ul class="grid">${episodes.map((e) => episodeCard(e, false, urls.media, absent.has(e.id)))}</ul>` : html`<p>No episodes yet.</p>`}`,
      ),
    );
  });

  app.get<{ Params: { slug: string } }>('/shows/:slug/feed.xml', async (req, reply) => {
    const found = await showWithEpisodes(req.params.slug);
    if (!found) return reply.code(404).type('text/plain').send('no such show');
    // 410: podcast apps and directories drop a gone feed instead of retrying it.
    if (found.show.takenDown) return reply.code(410).type('text/plain').send('this show was taken down');
    const { show, absent } = found;
    // An enclosure this node answers with 404 would be an error in every app at each refresh;
    // the item comes back (same GUID) once the file is here.
    const episodes = found.episodes.filter((e) => !absent.has(e.id));
    // The show moved (itunes:new-feed-url, issue 16): apps follow a permanent redirect.
    if (show.settings.redirectFeed && show.settings.newFeedUrl)
      return reply.redirect(show.settings.newFeedUrl, 301);
    const dai = (state.daiMounted?.() ?? false) && (await daiEnabled(ctx.db, show.id));
    const daiOff = dai ? await daiOffEpisodes(ctx.db, show.id) : new Set<string>();
    return reply.type('application/rss+xml; charset=utf-8').send(
      renderFeed(show, episodes, {
        ...urls.forFeed(show.slug, dai, daiOff),
        ...(found.showKey ? { showKey: found.showKey } : {}),
      }),
    );
  });

  app.get<{ Params: { id: string } }>('/episodes/:id', async (req, reply) => {
    const viewer = await whoIs(ctx, req);
    const raw = req.params.id;
    if (raw.endsWith('.torrent')) {
      // "<id>.torrent" is the hybrid; "<id>.v1.torrent" its v1-only companion.
      const v1 = raw.endsWith('.v1.torrent');
      const id = raw.slice(0, -(v1 ? '.v1.torrent' : '.torrent').length);
      // Like the page: a draft, scheduled or taken-down episode's torrent only for its creator.
      const ep = await cache.get(`episode:${id}`, () => getEpisode(ctx.db, id));
      const visible =
        ep && (isLive(ep, ctx.clock.now()) || viewer?.id === ep.show.ownerId || viewer?.role === 'admin');
      const bytes = visible ? await torrentFile(ctx.db, id, v1 ? 'v1' : 'hybrid') : null;
      if (!bytes) return reply.code(404).type('text/plain').send('no torrent for this episode');
      return reply
        .type('application/x-bittorrent')
        .header('content-disposition', `attachment; filename="${raw}"`)
        .send(Buffer.from(bytes));
    }
    const e = await cache.get(`episode:${raw}`, () => getEpisode(ctx.db, raw));
    // A draft or a scheduled episode exists only for its creator (who previews it here).
    const mayPreview = (x: { show: { ownerId: string } }) =>
      viewer?.id === x.show.ownerId || viewer?.role === 'admin';
    if (!e || (!isLive(e, ctx.clock.now()) && !mayPreview(e)))
      return notFound(reply, viewer, 'There is no episode at this address.');
    // Recorded while the page is made; the page leaves once the view is durable, so a
    // process killed after serving it has not lost the view.
    const viewed = state.views?.record(e.id);
    const present =
      !!e.media &&
      (await cache.get(`present:${e.media.path}`, () => mediaPresent(ctx.mediaDir, e.media!.path)));
    const src = e.media && present ? urls.media(e.media.path) : null;
    // The Swarmcast player (ads from the node's VMAP, beacons to its collector) mounts into
    // the div; without JavaScript the plain element inside <noscript> still plays the file.
    const plain = (source: string) =>
      e.mediaKind === 'video'
        ? html`<video controls preload="metadata" src="${source}" aria-label="Play ${e.title}">${captionTracks(e, urls.media)}</video>`
        : html`<audio controls preload="metadata" src="${source}" aria-label="Play ${e.title}"></audio>`;
    const player = !src
      ? html`<p class="alert warn">The media file is not available on this server.${e.torrent ? ' The torrent below may still find it among other peers.' : ''}</p>`
      : html`<div class="player" data-swarmcast-player data-src="${src}" data-episode="${e.id}" data-kind="${e.mediaKind}" data-vmap="/ads/vmap?episode=${enc(e.id)}" data-title="${e.title}"${e.transcripts[0] ? html` data-captions="${urls.media(e.transcripts[0].vttPath)}" data-srclang="${e.transcripts[0].language}"` : ''}${e.torrent ? html` data-torrent="/episodes/${enc(e.id)}.torrent" data-duration="${String(e.durationMs)}"` : ''}><noscript>${plain(src)}</noscript></div>
<script src="/assets/player.js" defer></script>`;
    const body = page(
      { title: e.title, viewer },
      html`<div class="row" style="align-items:flex-start;flex-wrap:nowrap">${episodeArt(e, urls.media, 120)}<div>
<p class="meta"><a href="/shows/${enc(e.show.slug)}">${e.show.title}</a></p>
<h1>${e.title}</h1>
<p class="meta">${duration(e.durationMs)} · <time datetime="${e.publishedAt.toISOString()}">${day(e.publishedAt)}</time>${e.media ? ` · ${bytes(e.media.size)} · ${e.media.codecs.join(', ')}` : ''}</p></div></div>
${player}
${e.notesHtml ? html`<div class="notes">${trusted(sanitizeNotes(e.notesHtml))}</div>` : html`<p>${e.description}</p>`}
${transcriptLinks(e, urls.media)}
${
  e.chapters.length
    ? html`<h2 id="chapters-h">Chapters</h2><ol class="chapters" aria-labelledby="chapters-h">${e.chapters.map((c) => html`<li><button type="button" class="link" data-swarmcast-chapter="${String(c.startMs)}"><span class="mono">${duration(c.startMs)}</span> ${c.title}</button></li>`)}</ol>`
    : ''
}
${subscribeSection(urls.feed(e.show.slug), e.show.title)}
<h2>Download</h2>
<ul class="list">
${src ? html`<li><a href="${src}" download>Direct download (HTTP)</a></li>` : ''}
${
  e.torrent
    ? html`<li><a href="/episodes/${enc(e.id)}.torrent">Torrent file</a> · <a href="${e.torrent.magnet}">Magnet link</a>
<span class="hint">for BitTorrent apps such as qBittorrent or Transmission</span></li>`
    : html`<li>The torrent is being prepared.</li>`
}
</ul>
${
  e.torrent
    ? html`<details class="advanced"><summary>Advanced: info-hashes, magnet text, v1-only links</summary>
<div class="meta">Info-hash v1 <code>${e.torrent.infoHashV1}</code>${e.torrent.infoHashV2 ? html`, v2 <code>${e.torrent.infoHashV2}</code>` : ''}</div>
<label class="hint" for="magnet-text">Magnet (copy into any BitTorrent client)</label>
<input id="magnet-text" class="mono" style="width:100%" readonly value="${e.torrent.magnet}">
${
  e.torrent.legacy
    ? html`<p>For older BitTorrent clients that do not understand v2 (such as aria2): <a href="/episodes/${enc(e.id)}.v1.torrent">v1-only .torrent</a> · <a href="${e.torrent.legacy.magnet}">v1-only magnet</a></p>`
    : ''
}</details>`
    : ''
}
${src ? embedSection(e, urls.base()) : ''}`,
    );
    await viewed;
    return sendPage(reply, body);
  });

  app.get<{ Params: { id: string } }>('/episodes/:id/chapters.json', async (req, reply) => {
    const e = await getEpisode(ctx.db, req.params.id);
    if (!e || !isLive(e, ctx.clock.now()))
      return reply.code(404).send({ error: { code: 'CAT_NOT_FOUND', message: 'no such episode' } });
    return reply.type('application/json+chapters').send(renderChapters(e));
  });
}

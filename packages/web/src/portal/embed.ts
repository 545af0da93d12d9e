/**
 * Embedding an episode on another site: `GET /embed/:id` is a minimal page holding only the
 * Swarmcast player (the `<swarmcast-player>` element from /assets/player.js) and a link back
 * to the episode page. It is the one HTML page other sites may frame (`frame-ancestors *`;
 * every other page keeps X-Frame-Options DENY). `embedCode` is the `<iframe>` snippet the
 * episode page offers with a copy button.
 */
import { type CatalogContext, type EpisodeDetail, getEpisode, isLive } from '@swarmcast/catalog';
import { type Html, html, raw } from '@swarmcast/platform';
import type { FastifyInstance } from 'fastify';
import type { SiteUrls } from '../urls.ts';
import { enc } from './fragments.ts';

/** Route config flag read by the server's header hook: this page may be framed. */
export const embeddable = { embeddable: true } as const;

/** Iframe heights that fit the player with its ad bar and peers line. */
const frame = { audio: { width: '100%', height: 190 }, video: { width: 640, height: 460 } } as const;

/** The `<iframe>` code (as text) that embeds an episode's player. */
export function embedCode(e: Pick<EpisodeDetail, 'id' | 'title' | 'mediaKind'>, base: string): string {
  const f = frame[e.mediaKind];
  return html`<iframe src="${base}/embed/${enc(e.id)}" title="${e.title} (Swarmcast player)" width="${f.width}" height="${f.height}" style="border:0;max-width:100%" allow="autoplay; fullscreen" loading="lazy"></iframe>`
    .value;
}

/** The episode page's "Embed" section: the code in a read-only field and a copy button. */
export function embedSection(e: Pick<EpisodeDetail, 'id' | 'title' | 'mediaKind'>, base: string): Html {
  return html`<h2 id="embed-h">Embed</h2>
<p class="hint">Put this player on your own site; ads and measurement work the same there.</p>
<label class="hint" for="embed-code">Embed code</label>
<textarea id="embed-code" class="mono" rows="3" style="width:100%" readonly>${embedCode(e, base)}</textarea>
<p><button type="button" data-swarmcast-copy="embed-code" hidden>Copy embed code</button> <span class="hint" role="status" aria-live="polite" data-swarmcast-copy-status="embed-code"></span></p>`;
}

const css =
  raw(`*{box-sizing:border-box}html,body{margin:0;background:#fff;color:#1d2330;font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
.embed{padding:.5rem}.embed h1{font-size:1rem;margin:0 0 .3rem}.embed h1 a{color:#3848c8}
audio,video{width:100%;display:block}[hidden]{display:none!important}
.sc-player:focus-visible,a:focus-visible,button:focus-visible{outline:3px solid #f3a712;outline-offset:2px}
.sc-ad-bar{display:flex;gap:.75rem;align-items:center;padding:.3rem 0}.sc-peers,.sc-companion{font-size:.85rem;color:#5b6475}`);

/** The framed page: the player and a link to the episode on this node. */
export function embedPage(
  e: EpisodeDetail,
  mediaUrl: string,
  base: string,
  /** The first transcript's WebVTT (the player's captions); same origin as this framed page. */
  captions: { url: string; language: string } | null = null,
): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e.title} · Swarmcast</title>
<style>${css}</style>
</head>
<body>
<main class="embed">
<h1><a href="${base}/episodes/${enc(e.id)}" target="_blank" rel="noopener">${e.title}</a> <span class="sc-peers">${e.show.title}</span></h1>
<swarmcast-player src="${mediaUrl}" episode="${e.id}" kind="${e.mediaKind}" vmap="${base}/ads/vmap?episode=${enc(e.id)}" collector="${base}" title="${e.title}"${captions ? html` captions="${captions.url}" srclang="${captions.language}"` : ''}${e.torrent ? html` torrent="${base}/episodes/${enc(e.id)}.torrent" duration="${String(e.durationMs)}"` : ''}></swarmcast-player>
<noscript>${
    e.mediaKind === 'video'
      ? html`<video controls preload="metadata" src="${mediaUrl}" aria-label="Play ${e.title}"></video>`
      : html`<audio controls preload="metadata" src="${mediaUrl}" aria-label="Play ${e.title}"></audio>`
  }</noscript>
</main>
<script src="${base}/assets/player.js" defer></script>
</body>
</html>`.value;
}

export function embedRoutes(app: FastifyInstance, ctx: CatalogContext, urls: SiteUrls): void {
  app.get<{ Params: { id: string } }>('/embed/:id', { config: embeddable }, async (req, reply) => {
    const found = await getEpisode(ctx.db, req.params.id);
    const e = found && isLive(found, ctx.clock.now()) ? found : null;
    if (!e?.media) {
      return reply
        .code(404)
        .type('text/html; charset=utf-8')
        .send(
          html`<!doctype html><html lang="en"><meta charset="utf-8"><title>Not found</title><p>This episode is not available.</p></html>`
            .value,
        );
    }
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', 'frame-ancestors *')
      .send(
        embedPage(
          e,
          urls.media(e.media.path),
          urls.base(),
          e.transcripts[0]
            ? { url: urls.media(e.transcripts[0].vttPath), language: e.transcripts[0].language }
            : null,
        ),
      );
  });
}

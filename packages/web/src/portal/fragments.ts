import type { EpisodeDetail, SearchHit, Show } from '@swarmcast/catalog';
import { type Html, html } from '@swarmcast/platform';

export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

export const enc = encodeURIComponent;

/** The episode's own artwork, else its show's (decorative: empty alt). */
export function episodeArt(
  e: Pick<EpisodeDetail, 'artwork' | 'show'>,
  media: (path: string) => string,
  size: number,
): Html | '' {
  const path = e.artwork ?? e.show.artwork ?? null;
  return path
    ? html`<img class="art" src="${media(path)}" alt="" width="${size}" height="${size}" loading="lazy">`
    : '';
}

export function episodeCard(
  e: EpisodeDetail,
  withShow = true,
  media?: (path: string) => string,
  unavailable = false,
): Html {
  return html`<li class="card media">${media ? episodeArt(e, media, 72) : ''}<div>
<h3><a href="/episodes/${enc(e.id)}">${e.title}</a></h3>
${withShow ? html`<div class="meta">from <a href="/shows/${enc(e.show.slug)}">${e.show.title}</a></div>` : ''}
<div class="meta">${e.mediaKind === 'video' ? 'Video' : 'Audio'} · ${duration(e.durationMs)} · <time datetime="${e.publishedAt.toISOString()}">${day(e.publishedAt)}</time></div>
${unavailable ? html`<div class="meta">Not available on this server</div>` : ''}
</div></li>`;
}

/**
 * "Subscribe" in the apps people use: each app's own subscribe link for this feed, and the
 * feed address to copy for any other app.
 */
export function subscribeSection(feed: string, title: string): Html {
  const bare = feed.replace(/^https?:\/\//, '');
  const apps: [string, string][] = [
    ['Apple Podcasts', `podcast://${bare}`],
    ['Pocket Casts', `pktc://subscribe/${bare}`],
    ['Overcast', `overcast://x-callback-url/add?url=${encodeURIComponent(feed)}`],
    [
      'AntennaPod',
      `https://antennapod.org/deeplink/subscribe?url=${encodeURIComponent(feed)}&title=${encodeURIComponent(title)}`,
    ],
  ];
  return html`<section class="subscribe" aria-labelledby="subscribe-h"><h2 id="subscribe-h">Subscribe</h2>
<ul class="row" style="list-style:none;padding:0;margin:0 0 .6rem">${apps.map(([name, href]) => html`<li><a class="button secondary" href="${href}">${name}</a></li>`)}</ul>
<div class="row"><label for="feed-url" class="hint">RSS feed, for any other app</label></div>
<div class="row" style="flex-wrap:nowrap"><input id="feed-url" class="mono" readonly value="${feed}" style="flex:1;min-width:0;padding:.45rem;border:1px solid #8d94a3;border-radius:.4rem">
<button type="button" id="copy-feed" data-copy="feed-url">Copy RSS</button></div>
<p class="hint" id="copy-feed-status" role="status"></p>
<script>document.getElementById('copy-feed').addEventListener('click',function(){var f=document.getElementById('feed-url');var s=document.getElementById('copy-feed-status');f.select();(navigator.clipboard?navigator.clipboard.writeText(f.value):Promise.reject()).then(function(){s.textContent='Copied the feed address.'},function(){s.textContent='Press Ctrl+C (or Cmd+C) to copy the selected address.'})});</script>
</section>`;
}

/** The show's artwork as an image from the origin (decorative beside the title: empty alt). */
export function artwork(s: Pick<Show, 'artwork'>, media: (path: string) => string, size: number): Html | '' {
  return s.artwork
    ? html`<img class="artwork" src="${media(s.artwork)}" alt="" width="${size}" height="${size}" loading="lazy" style="max-width:100%;height:auto;border-radius:.5rem">`
    : '';
}

export function showCard(s: Show & { episodes?: number }, media?: (path: string) => string): Html {
  return html`<li class="card">${media ? artwork(s, media, 96) : ''}
<h3><a href="/shows/${enc(s.slug)}">${s.title}</a></h3>
<div class="meta">${s.author}${s.episodes !== undefined ? html` · ${s.episodes} episode${s.episodes === 1 ? '' : 's'}` : ''}</div>
<p>${s.description.length > 160 ? `${s.description.slice(0, 157)}…` : s.description}</p>
</li>`;
}

export function searchHit(h: SearchHit): Html {
  const href = h.kind === 'show' ? `/shows/${enc(h.slug)}` : `/episodes/${enc(h.id)}`;
  return html`<li>
<a href="${href}"><strong>${h.title}</strong></a>
<div class="meta">${h.kind === 'show' ? 'Show' : html`Episode of ${h.showTitle}`}</div>
<p>${h.description.length > 200 ? `${h.description.slice(0, 197)}…` : h.description}</p>
</li>`;
}

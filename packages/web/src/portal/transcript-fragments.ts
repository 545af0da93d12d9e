import type { EpisodeDetail } from '@swarmcast/catalog';
import { type Html, html } from '@swarmcast/platform';

/** <track> elements for a <video>: each transcript's WebVTT rendering as captions. */
export function captionTracks(e: EpisodeDetail, media: (path: string) => string): Html {
  return html`${e.transcripts.map(
    (t, i) =>
      html`<track kind="captions" src="${media(t.vttPath)}" srclang="${t.language}" label="Captions (${t.language})"${i === 0 ? ' default' : ''}>`,
  )}`;
}

/** The episode page's transcript links (the file as published, and its WebVTT). */
export function transcriptLinks(e: EpisodeDetail, media: (path: string) => string): Html | string {
  if (e.transcripts.length === 0) return '';
  return html`<h2>Transcript</h2><ul class="list">${e.transcripts.map(
    (t) =>
      html`<li>${t.language}: <a href="${media(t.path)}">${t.format === 'json' ? 'JSON' : t.format.toUpperCase()}</a>${t.vttPath !== t.path ? html` · <a href="${media(t.vttPath)}">WebVTT</a>` : ''}</li>`,
  )}</ul>`;
}

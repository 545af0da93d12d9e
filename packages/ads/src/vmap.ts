/**
 * VMAP 1.0 for one episode: one AdBreak per break the creator marked, in content order,
 * each pointing to our VAST endpoint with an AdTagURI (templateType "vast4").
 */
import type { EpisodeForAds } from '@swarmcast/catalog';
import { breakTimeOffset, formatTimeOffset, type TimeOffsetForm } from './time-offset.ts';
import { xmlEscape as x } from './xml.ts';

export interface VmapOptions {
  /** Base URL of our public API, e.g. "https://node.example". */
  baseUrl: string;
  form: TimeOffsetForm;
  /** The listener id to pass on to the VAST requests (never invented here). */
  listenerId: string | null;
}

export function vastTagUrl(
  baseUrl: string,
  episodeId: string,
  breakId: string,
  listenerId: string | null,
): string {
  const q = new URLSearchParams({ episode: episodeId, break: breakId });
  if (listenerId) q.set('lid', listenerId);
  return `${baseUrl.replace(/\/+$/, '')}/ads/vast?${q}`;
}

export function renderVmap(episode: EpisodeForAds, o: VmapOptions): string {
  const breaks = [...episode.adBreaks].sort((a, b) => order(a) - order(b) || a.offsetMs - b.offsetMs);
  const body = breaks
    .map((b, i) => {
      const offset = formatTimeOffset(breakTimeOffset(b, i, episode.durationMs, o.form));
      const url = vastTagUrl(o.baseUrl, episode.id, b.id, o.listenerId);
      return (
        `<vmap:AdBreak timeOffset="${x(offset)}" breakType="linear" breakId="${x(b.id)}">\n` +
        `<vmap:AdSource id="${x(b.id)}-source" allowMultipleAds="${b.maxAds > 1}" followRedirects="true">\n` +
        `<vmap:AdTagURI templateType="vast4">${x(url)}</vmap:AdTagURI>\n` +
        '</vmap:AdSource>\n</vmap:AdBreak>\n'
      );
    })
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<vmap:VMAP xmlns:vmap="http://www.iab.net/videosuite/vmap" version="1.0">\n${body}</vmap:VMAP>\n`
  );
}

function order(b: { position: 'pre' | 'mid' | 'post' }): number {
  return b.position === 'pre' ? 0 : b.position === 'mid' ? 1 : 2;
}

/** A VMAP with no breaks: the answer for an unknown episode or a malformed request. */
export function renderEmptyVmap(): string {
  return '<?xml version="1.0" encoding="UTF-8"?>\n<vmap:VMAP xmlns:vmap="http://www.iab.net/videosuite/vmap" version="1.0"/>\n';
}

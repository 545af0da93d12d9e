/**
 * The browser bundle's entry: exposes `Swarmcast.mountPlayer` and mounts every element
 * carrying `data-swarmcast-player` (attributes: data-src, data-episode, data-kind,
 * data-vmap, data-collector, data-title) once the document is ready.
 */
import { mountPlayer, type PlayerHandle } from './ui/mount-player.ts';

export { mountPlayer };

export function mountAll(doc: Document = document): PlayerHandle[] {
  const out: PlayerHandle[] = [];
  for (const el of Array.from(doc.querySelectorAll<HTMLElement>('[data-swarmcast-player]'))) {
    if (el.dataset.mounted === '1') continue;
    const d = el.dataset;
    if (!d.src || !d.episode) continue;
    el.dataset.mounted = '1';
    out.push(
      mountPlayer(el, {
        kind: d.kind === 'video' ? 'video' : 'audio',
        src: d.src,
        episodeId: d.episode,
        vmapUrl: d.vmap ?? null,
        collectorBase: d.collector ?? '',
        ...(d.title ? { title: d.title } : {}),
      }),
    );
  }
  return out;
}

if (typeof document !== 'undefined') {
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => mountAll());
  else mountAll();
}

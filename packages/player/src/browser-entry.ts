/**
 * The browser bundle's entry: exposes `Swarmcast.mountPlayer`, wires copy buttons, and mounts every element
 * carrying `data-swarmcast-player` (attributes: data-src, data-episode, data-kind,
 * data-vmap, data-collector, data-title) once the document is ready, and defines the
 * `<swarmcast-player src episode kind vmap collector title>` element for embedding.
 */
import { mountP2pPlayer } from './p2p/mount-p2p.ts';
import { mountPlayer, type PlayerHandle, type PlayerOptions } from './ui/mount-player.ts';

export { mountP2pPlayer, mountPlayer };

/** With data-torrent the episode plays peer-to-peer (src/p2p/); data-webrtc="off" keeps to the web seed. */
function mountWith(
  el: HTMLElement,
  o: PlayerOptions,
  get: (name: string) => string | undefined,
): PlayerHandle {
  const torrentUrl = get('torrent');
  if (!torrentUrl) return mountPlayer(el, o);
  const durationMs = Number(get('duration'));
  return mountP2pPlayer(el, o, {
    torrentUrl,
    ...(durationMs > 0 ? { durationMs } : {}),
    ...(get('webrtc') === 'off' ? { webrtc: false } : {}),
  });
}

/**
 * Wires `button[data-swarmcast-copy=<field id>]` (shown only once wired, so a page without
 * JavaScript offers no dead button) to copy that field's text, reporting in the element
 * `[data-swarmcast-copy-status=<field id>]`. Used by the episode page's embed code.
 */
export function wireCopyButtons(doc: Document = document): void {
  for (const b of Array.from(doc.querySelectorAll<HTMLButtonElement>('button[data-swarmcast-copy]'))) {
    if (b.dataset.wired === '1') continue;
    const id = b.dataset.swarmcastCopy ?? '';
    const field = doc.getElementById(id) as HTMLTextAreaElement | HTMLInputElement | null;
    if (!field) continue;
    const status = doc.querySelector<HTMLElement>(`[data-swarmcast-copy-status="${CSS.escape(id)}"]`);
    b.dataset.wired = '1';
    b.hidden = false;
    b.addEventListener('click', () => {
      const say = (t: string) => {
        if (status) status.textContent = t;
      };
      field.select();
      const clip = doc.defaultView?.navigator.clipboard;
      if (clip) {
        clip.writeText(field.value).then(
          () => say('Copied.'),
          () => say('Press Ctrl+C (or Cmd+C) to copy the selected code.'),
        );
      } else say('Press Ctrl+C (or Cmd+C) to copy the selected code.');
    });
  }
}

/**
 * Wires `button[data-swarmcast-chapter=<ms>]` (the episode page's chapter list) to the
 * page's player: a click moves playback to the chapter's start and plays.
 */
export function wireChapters(doc: Document = document): void {
  for (const b of Array.from(doc.querySelectorAll<HTMLButtonElement>('button[data-swarmcast-chapter]'))) {
    if (b.dataset.wired === '1') continue;
    b.dataset.wired = '1';
    b.addEventListener('click', () => {
      const host = doc.querySelector<PlayerHost>('[data-swarmcast-player]');
      host?.swarmcastPlayer?.seek(Number(b.dataset.swarmcastChapter) || 0);
    });
  }
}

/** A mounted element carries its player's handle (scripts and tests read the engine's stats). */
export type PlayerHost = HTMLElement & { swarmcastPlayer?: PlayerHandle };

export function mountAll(doc: Document = document): PlayerHandle[] {
  const out: PlayerHandle[] = [];
  for (const el of Array.from(doc.querySelectorAll<HTMLElement>('[data-swarmcast-player]'))) {
    if (el.dataset.mounted === '1') continue;
    const o = optionsOf((n) => el.dataset[n]);
    if (!o) continue;
    el.dataset.mounted = '1';
    const handle = mountWith(el, o, (n) => el.dataset[n]);
    (el as PlayerHost).swarmcastPlayer = handle;
    out.push(handle);
  }
  return out;
}

/** Reads the attributes of a `<swarmcast-player>` or `data-swarmcast-player` element. */
function optionsOf(get: (name: string) => string | undefined): PlayerOptions | null {
  const src = get('src');
  const episode = get('episode');
  if (!src || !episode) return null;
  const title = get('title');
  const captions = get('captions');
  const srclang = get('srclang');
  return {
    ...(captions ? { captions: { src: captions, ...(srclang ? { language: srclang } : {}) } } : {}),
    kind: get('kind') === 'video' ? 'video' : 'audio',
    src,
    episodeId: episode,
    vmapUrl: get('vmap') ?? null,
    collectorBase: get('collector') ?? '',
    ...(title ? { title } : {}),
  };
}

/** Defines `<swarmcast-player>` (light DOM, so the page's CSS can style it). */
export function defineElement(registry: CustomElementRegistry = customElements): void {
  if (registry.get('swarmcast-player')) return;
  registry.define(
    'swarmcast-player',
    class extends HTMLElement {
      #handle: PlayerHandle | null = null;
      get swarmcastPlayer(): PlayerHandle | undefined {
        return this.#handle ?? undefined;
      }
      connectedCallback() {
        if (this.#handle) return;
        const o = optionsOf((n) => this.getAttribute(n) ?? undefined);
        if (o) this.#handle = mountWith(this, o, (n) => this.getAttribute(n) ?? undefined);
      }
      disconnectedCallback() {
        this.#handle?.destroy();
        this.#handle = null;
      }
    },
  );
}

if (typeof customElements !== 'undefined') defineElement();
if (typeof document !== 'undefined') {
  const ready = () => {
    mountAll();
    wireCopyButtons();
    wireChapters();
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', ready);
  else ready();
}

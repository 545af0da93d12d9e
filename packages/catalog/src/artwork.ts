import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Account } from './accounts.ts';
import type { CatalogContext } from './context.ts';
import { episodeForEditing } from './edit.ts';
import { type EpisodeDetail, getEpisode } from './episodes.ts';
import { fail, ok, type Result } from './errors.ts';
import { artworkProblems } from './feed/directory-rules.ts';
import { getShow, type Show, showForEditing } from './shows.ts';

/** Show artwork may be at most this big (Apple asks for under 512 KB; we allow 2 MiB). */
export const maxArtworkBytes = 2 * 1024 * 1024;

export interface ImageInfo {
  type: 'png' | 'jpeg';
  width: number;
  height: number;
}

/**
 * What an image really is, from its bytes (never from a name or a Content-Type): a PNG
 * (signature + IHDR) or a baseline/progressive JPEG (SOI, then the first SOFn segment's
 * size). Anything else, or dimensions of 0, is null. Reads within the buffer only.
 */
export function sniffImage(b: Uint8Array): ImageInfo | null {
  const view = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (view.length >= 24 && png.every((v, i) => view[i] === v) && view.toString('latin1', 12, 16) === 'IHDR') {
    const width = view.readUInt32BE(16);
    const height = view.readUInt32BE(20);
    return width > 0 && height > 0 ? { type: 'png', width, height } : null;
  }
  if (view.length >= 4 && view[0] === 0xff && view[1] === 0xd8) {
    let pos = 2;
    while (pos + 4 <= view.length) {
      if (view[pos] !== 0xff) return null;
      const marker = view[pos + 1] as number;
      if (marker === 0xff) {
        pos++;
        continue;
      }
      const length = view.readUInt16BE(pos + 2);
      if (length < 2) return null;
      const sof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
      if (sof) {
        if (pos + 9 > view.length) return null;
        const height = view.readUInt16BE(pos + 5);
        const width = view.readUInt16BE(pos + 7);
        return width > 0 && height > 0 ? { type: 'jpeg', width, height } : null;
      }
      pos += 2 + length;
    }
  }
  return null;
}

/**
 * Sets a show's artwork (owner or admin): the bytes must be a PNG or JPEG of at most
 * `maxArtworkBytes`, checked before anything is written. The file goes next to the show's
 * episodes under a name we make ("artwork-<random>.png"), so the origin serves it; the
 * previous artwork file is removed.
 */
export async function setShowArtwork(
  ctx: CatalogContext,
  who: Account,
  slug: string,
  bytes: Uint8Array,
): Promise<Result<Show>> {
  const show = await showForEditing(ctx.db, who, slug);
  if (!show.ok) return show;
  const rel = await storeArtwork(ctx, show.value.slug, bytes);
  if (!rel.ok) return rel;
  await ctx.db.query('update catalog_shows set artwork = $2 where id = $1', [show.value.id, rel.value]);
  if (show.value.artwork) await rm(join(ctx.mediaDir, show.value.artwork), { force: true });
  ctx.onFeedChange?.(show.value.slug);
  return ok((await getShow(ctx.db, show.value.slug)) as Show);
}

/** Checks artwork bytes and writes them under "<slug>/artwork-<random>.<ext>"; the path. */
async function storeArtwork(ctx: CatalogContext, slug: string, bytes: Uint8Array): Promise<Result<string>> {
  if (bytes.length > maxArtworkBytes) {
    return fail('CAT_UPLOAD_TOO_LARGE', `artwork is at most ${maxArtworkBytes} bytes`);
  }
  const image = sniffImage(bytes);
  if (!image) return fail('CAT_NOT_MEDIA', 'artwork must be a PNG or JPEG image');
  // The size the dashboard asks for (and podcast directories require): square, 1400 to
  // 3000 px. An absurd size (say 65535 x 1) is refused before anything is written.
  const problems = artworkProblems(image);
  if (problems.length > 0) return fail('CAT_BAD_INPUT', problems.join('; '));
  const rel = `${slug}/artwork-${randomBytes(4).toString('hex')}.${image.type === 'png' ? 'png' : 'jpg'}`;
  await mkdir(join(ctx.mediaDir, slug), { recursive: true });
  await writeFile(join(ctx.mediaDir, rel), bytes, { flag: 'wx' });
  return ok(rel);
}

/** An episode's own artwork (itunes:image on the item), same rules as the show's. */
export async function setEpisodeArtwork(
  ctx: CatalogContext,
  who: Account,
  episodeId: string,
  bytes: Uint8Array,
): Promise<Result<EpisodeDetail>> {
  const ep = await episodeForEditing(ctx, who, episodeId);
  if (!ep.ok) return ep;
  const rel = await storeArtwork(ctx, ep.value.show.slug, bytes);
  if (!rel.ok) return rel;
  await ctx.db.query('update catalog_episodes set artwork = $2 where id = $1', [ep.value.id, rel.value]);
  if (ep.value.artwork) await rm(join(ctx.mediaDir, ep.value.artwork), { force: true });
  ctx.onFeedChange?.(ep.value.show.slug);
  return ok((await getEpisode(ctx.db, ep.value.id)) as EpisodeDetail);
}

import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Account } from '../accounts.ts';
import type { CatalogContext } from '../context.ts';
import { episodeForEditing } from '../edit.ts';
import { type EpisodeDetail, getEpisode } from '../episodes.ts';
import { fail, ok, type Result } from '../errors.ts';
import { parseTranscript, type TranscriptFormat, toWebVtt } from './parse-transcript.ts';

export interface Transcript {
  language: string;
  format: TranscriptFormat;
  /** Media path of the file as uploaded (validated), and of its WebVTT rendering (captions). */
  path: string;
  vttPath: string;
}

const languagePattern = /^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/;

/**
 * Sets an episode's transcript in one language (owner or admin): SRT, WebVTT or Podcasting
 * 2.0 JSON, validated cue by cue before anything is written. The file is kept as sent for
 * podcast:transcript, with a WebVTT copy for captions; its words are indexed for search.
 */
export async function setTranscript(
  ctx: CatalogContext,
  who: Account,
  episodeId: string,
  bytes: Uint8Array,
  language = 'en',
): Promise<Result<EpisodeDetail>> {
  const ep = await episodeForEditing(ctx, who, episodeId);
  if (!ep.ok) return ep;
  if (!languagePattern.test(language))
    return fail('CAT_BAD_INPUT', 'language: a BCP 47 tag such as en or de-CH');
  const parsed = parseTranscript(bytes);
  if (!parsed.ok) return parsed;
  const { format, cues } = parsed.value;
  const slug = ep.value.show.slug;
  const name = `transcript-${randomBytes(4).toString('hex')}`;
  const path = `${slug}/${name}.${format}`;
  const vttPath = format === 'vtt' ? path : `${slug}/${name}.vtt`;
  await mkdir(join(ctx.mediaDir, slug), { recursive: true });
  await writeFile(join(ctx.mediaDir, path), bytes, { flag: 'wx' });
  if (vttPath !== path) await writeFile(join(ctx.mediaDir, vttPath), toWebVtt(cues), { flag: 'wx' });
  const text = cues
    .map((c) => c.text)
    .join(' ')
    .slice(0, 1_000_000);
  const before = ep.value.transcripts.find((t) => t.language === language);
  await ctx.db.query(
    `insert into catalog_transcripts (episode_id, language, format, path, vtt_path, text) values ($1, $2, $3, $4, $5, $6)
     on conflict (episode_id, language) do update set format = $3, path = $4, vtt_path = $5, text = $6`,
    [ep.value.id, language, format, path, vttPath, text],
  );
  if (before) {
    await rm(join(ctx.mediaDir, before.path), { force: true });
    if (before.vttPath !== before.path) await rm(join(ctx.mediaDir, before.vttPath), { force: true });
  }
  ctx.onFeedChange?.(ep.value.show.slug);
  return ok((await getEpisode(ctx.db, ep.value.id)) as EpisodeDetail);
}

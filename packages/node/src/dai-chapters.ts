/**
 * Chapters and transcripts of a stitched enclosure, per listener: `GET /dai/<episode>/
 * chapters.json` gives the episode's chapters (Podcasting 2.0 JSON chapters) and `GET
 * /dai/<episode>/transcripts/<language>.<vtt|srt|json>` its transcript, moved by the ads of
 * the plan that same listener (same audience key, same day) gets in the file, so a chapter
 * link lands on its first words and a transcript's cue on its words, not in an ad. Without
 * a plan (no ads, DAI off) the plain chapters and cues.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type PlanLayout, type StoredPlan, shiftedMs } from '@swarmcast/ads';
import {
  type EpisodeDetail,
  getEpisode,
  isLive,
  parseTranscript,
  renderChapters,
  renderTranscript,
  type TranscriptFormat,
  transcriptTypes,
} from '@swarmcast/catalog';
import { type AudienceKeys, type Clock, trustedCountry } from '@swarmcast/platform';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Dai } from './dai.ts';

const idPattern = /^[A-Za-z0-9_-]{1,64}$/;

/** A cue's or chapter's content time span in the stitched file of `layout`. */
export function shiftedSpan(layout: Pick<PlanLayout, 'breaks'>, startMs: number, endMs: number) {
  const start = Math.round(shiftedMs(layout, startMs));
  // A span that ends where a break begins ends before the ads, not after them.
  const end = endMs > startMs ? Math.round(shiftedMs(layout, endMs - 1)) + 1 : start;
  return { startMs: start, endMs: Math.max(start, end) };
}

const formats = new Set<TranscriptFormat>(['vtt', 'srt', 'json']);

export function daiChapterRoutes(
  app: FastifyInstance,
  o: {
    dai: Dai;
    audienceKeys: AudienceKeys;
    clock: Clock;
    db: Parameters<typeof getEpisode>[0];
    mediaDir: string;
  },
): void {
  /**
   * The episode and the plan this listener gets in the stitched file (null: none). Only a
   * live episode has either: a draft, a scheduled or a taken-down one is not found here, as
   * its enclosure is not (a takedown must not leave its chapters and words readable).
   */
  const listenerPlan = async (
    req: FastifyRequest,
    id: string,
  ): Promise<{ e: EpisodeDetail | null; stored: StoredPlan | null }> => {
    const now = o.clock.now();
    const found = idPattern.test(id) ? await getEpisode(o.db, id) : null;
    const e = found && isLive(found, now) ? found : null;
    if (!e) return { e: null, stored: null };
    const ua = req.headers['user-agent'] ?? '';
    const [audienceKey, clientKey] = await Promise.all([
      o.audienceKeys.audienceKey(req.ip, ua, now),
      o.audienceKeys.audienceKey(req.ip, '', now),
    ]);
    const stored = await o.dai
      // The same client as the enclosure request, so the same plan (its country only via the trusted proxy).
      .planOf(id, {
        audienceKey,
        clientKey,
        userAgent: ua,
        headers: req.headers,
        country: trustedCountry(req),
        now,
      })
      .catch(() => null);
    return { e, stored };
  };

  app.get<{ Params: { id: string; file: string } }>('/dai/:id/transcripts/:file', async (req, reply) => {
    reply.header('access-control-allow-origin', '*').header('cache-control', 'private, max-age=3600');
    const m = /^([A-Za-z0-9-]{2,35})\.(vtt|srt|json)$/.exec(req.params.file);
    const { e, stored } = m ? await listenerPlan(req, req.params.id) : { e: null, stored: null };
    const t = e?.transcripts.find((x) => x.language === m![1]);
    const format = m?.[2] as TranscriptFormat | undefined;
    if (!e || !t || !format || !formats.has(format))
      return reply.code(404).send({ error: { code: 'CAT_NOT_FOUND', message: 'no such transcript' } });
    let bytes: Uint8Array;
    try {
      bytes = await readFile(join(o.mediaDir, t.path));
    } catch {
      return reply.code(404).send({ error: { code: 'CAT_NOT_FOUND', message: 'no such transcript' } });
    }
    const parsed = parseTranscript(bytes);
    if (!parsed.ok)
      return reply.code(404).send({ error: { code: 'CAT_NOT_FOUND', message: 'no such transcript' } });
    const layout = stored?.layout;
    const cues = layout
      ? parsed.value.cues.map((c) => ({ ...c, ...shiftedSpan(layout, c.startMs, c.endMs) }))
      : parsed.value.cues;
    if (stored) reply.header('x-swarmcast-dai', `plan=${stored.plan.id}`);
    const type = format === 'json' ? 'application/json' : transcriptTypes[format];
    return reply.type(`${type}; charset=utf-8`).send(renderTranscript(format, cues));
  });

  app.get<{ Params: { id: string } }>('/dai/:id/chapters.json', async (req, reply) => {
    reply.header('access-control-allow-origin', '*').header('cache-control', 'private, max-age=3600');
    const { e, stored } = await listenerPlan(req, req.params.id);
    if (!e) return reply.code(404).send({ error: { code: 'CAT_NOT_FOUND', message: 'no such episode' } });
    const layout = stored?.layout;
    const chapters = layout
      ? e.chapters.map((c) => ({ ...c, startMs: Math.round(shiftedMs(layout, c.startMs)) }))
      : e.chapters;
    if (stored) reply.header('x-swarmcast-dai', `plan=${stored.plan.id}`);
    return reply.type('application/json+chapters').send(renderChapters({ ...e, chapters }));
  });
}

/**
 * Chapters of a stitched enclosure, per listener: `GET /dai/<episode>/chapters.json` gives
 * the episode's chapters (Podcasting 2.0 JSON chapters) moved by the ads of the plan that
 * same listener (same audience key, same day) gets in the file, so a chapter link lands on
 * its first words, not in an ad. Without a plan (no ads, DAI off) the plain chapters.
 */
import { shiftedMs } from '@swarmcast/ads';
import { getEpisode, renderChapters } from '@swarmcast/catalog';
import type { AudienceKeys, Clock } from '@swarmcast/platform';
import type { FastifyInstance } from 'fastify';
import type { Dai } from './dai.ts';

const idPattern = /^[A-Za-z0-9_-]{1,64}$/;

export function daiChapterRoutes(
  app: FastifyInstance,
  o: { dai: Dai; audienceKeys: AudienceKeys; clock: Clock; db: Parameters<typeof getEpisode>[0] },
): void {
  app.get<{ Params: { id: string } }>('/dai/:id/chapters.json', async (req, reply) => {
    reply.header('access-control-allow-origin', '*').header('cache-control', 'private, max-age=3600');
    const id = req.params.id;
    const e = idPattern.test(id) ? await getEpisode(o.db, id) : null;
    if (!e) return reply.code(404).send({ error: { code: 'CAT_NOT_FOUND', message: 'no such episode' } });
    const now = o.clock.now();
    const ua = req.headers['user-agent'] ?? '';
    const [audienceKey, clientKey] = await Promise.all([
      o.audienceKeys.audienceKey(req.ip, ua, now),
      o.audienceKeys.audienceKey(req.ip, '', now),
    ]);
    const stored = await o.dai
      .planOf(id, { audienceKey, clientKey, userAgent: ua, headers: req.headers, now })
      .catch(() => null);
    const layout = stored?.layout;
    const chapters = layout
      ? e.chapters.map((c) => ({ ...c, startMs: Math.round(shiftedMs(layout, c.startMs)) }))
      : e.chapters;
    if (stored) reply.header('x-swarmcast-dai', `plan=${stored.plan.id}`);
    return reply.type('application/json+chapters').send(renderChapters({ ...e, chapters }));
  });
}

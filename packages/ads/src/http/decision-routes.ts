/**
 * The player-facing routes: `GET /ads/vmap?episode=` (VMAP 1.0), `GET /ads/vast?episode=&break=`
 * (VAST 4.3) and `GET /ads/keys` (public keys for verifiers). VAST is always a valid document:
 * malformed parameters get a 400 carrying the empty VAST, unknown episodes or breaks and
 * breaks nobody fills get a 200 empty VAST.
 */
import { trustedCountry } from '@swarmcast/platform';
import type { FastifyInstance } from 'fastify';
import { BatchSigner } from '../batch-signer.ts';
import { decideBreakShared } from '../decide.ts';
import { exportPublicKey } from '../signing-keys.ts';
import type { TimeOffsetForm } from '../time-offset.ts';
import { renderVast } from '../vast.ts';
import { renderEmptyVmap, renderVmap } from '../vmap.ts';
import type { AdsContext } from './context.ts';
import { deviceClass, parseListenerId } from './request-context.ts';

const idPattern = /^[A-Za-z0-9._:-]{1,128}$/;
const xml = 'application/xml; charset=utf-8';
const forms: readonly TimeOffsetForm[] = ['time', 'percent', 'position'];

export function decisionRoutes(app: FastifyInstance, ctx: AdsContext): void {
  const emptyVast = renderVast([], {
    collector: ctx.collector,
    adSystem: 'Swarmcast',
    adSystemVersion: ctx.version,
  });

  // Answers decided in one event-loop turn share one signature (batch-signer.ts).
  const signer = new BatchSigner();

  app.get('/ads/vast', async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    reply.header('content-type', xml).header('cache-control', 'no-store');
    if (
      typeof q.episode !== 'string' ||
      typeof q.break !== 'string' ||
      !idPattern.test(q.episode) ||
      !idPattern.test(q.break)
    ) {
      return reply.code(400).header('x-ads-reason', 'ADS_BAD_REQUEST').send(emptyVast);
    }
    const episode = await ctx.episodes(q.episode);
    const now = ctx.clock.now();
    let answer: Awaited<ReturnType<typeof decideBreakShared>>;
    try {
      answer = await decideBreakShared(
        ctx.decide,
        {
          episode,
          breakId: q.break,
          listenerId: withheld(req.headers) ? null : parseListenerId(q.lid),
          // Only through the trusted proxy, as measurement reads it: a listener talking to us
          // directly could claim any country and buy into (or out of) geo-targeted line items.
          country: trustedCountry(req, ctx.countryHeader),
          device: deviceClass(q.device, req.headers['user-agent']),
          now,
        },
        signer.sign,
      );
    } catch (err) {
      // The shared caps and delivery (Redis) did not answer: no ad rather than one past a cap
      // or plan; still a valid VAST for the player.
      req.log.error({ err }, 'ad decision: shared delivery state failed');
      return reply.code(503).header('x-ads-reason', 'ADS_SHARED_STATE_UNAVAILABLE').send(emptyVast);
    }
    if (!episode) reply.header('x-ads-reason', 'unknown-episode');
    if (answer.adBreak && episode) {
      ctx.opportunities?.record({
        time: now,
        episodeId: episode.id,
        breakId: answer.adBreak.id,
        slots: answer.adBreak.maxAds,
        filled: answer.decisions.length,
      });
    }
    return reply.send(answer.vast);
  });

  app.get('/ads/vmap', async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    reply.header('content-type', xml).header('cache-control', 'no-store');
    const empty = renderEmptyVmap();
    const form = q.offsets === undefined ? 'time' : (q.offsets as TimeOffsetForm);
    if (typeof q.episode !== 'string' || !idPattern.test(q.episode) || !forms.includes(form)) {
      return reply.code(400).header('x-ads-reason', 'ADS_BAD_REQUEST').send(empty);
    }
    const episode = await ctx.episodes(q.episode);
    if (!episode) return reply.code(404).header('x-ads-reason', 'ADS_NOT_FOUND').send(empty);
    const listenerId = withheld(req.headers) ? null : parseListenerId(q.lid);
    return reply.send(renderVmap(episode, { baseUrl: ctx.publicUrl, form, listenerId }));
  });

  app.get('/ads/keys', async () => {
    const ring = ctx.keys();
    return {
      keys: [
        exportPublicKey(ring.active.keyId, ring.active.publicKey),
        ...ring.retired.map((r) => exportPublicKey(r.keyId, r.publicKey)),
        ...(ring.upcoming ?? []).map((u) => exportPublicKey(u.keyId, u.publicKey)),
      ],
    };
  });
}

/** Global Privacy Control or Do Not Track: the listener id is withheld (caps cannot apply). */
function withheld(headers: Record<string, unknown>): boolean {
  return headers['sec-gpc'] === '1' || headers.dnt === '1';
}

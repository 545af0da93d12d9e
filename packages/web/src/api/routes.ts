import type { Readable } from 'node:stream';
import {
  type Account,
  type AdBreakInput,
  absentMedia,
  apiTokenDefaultDays,
  apiTokenMaxDays,
  type CatalogContext,
  changePassword,
  createApiToken,
  createShow,
  deleteEpisode,
  deleteShow,
  episodeForAds,
  episodesOfShow,
  getEpisode,
  getShow,
  isLive,
  listApiTokens,
  maxArtworkBytes,
  maxTranscriptBytes,
  publishEpisode,
  type Result,
  reinstateShow,
  revokeApiToken,
  type ShowInput,
  scheduleEpisode,
  search,
  setAdBreaks,
  setChapters,
  setEpisodeArtwork,
  setShowArtwork,
  setTranscript,
  storeUpload,
  takeDownShow,
  updateEpisode,
  updateFeedSettings,
  updateShow,
} from '@swarmcast/catalog';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { apiCaller as caller, readCookie, sendFailure, sessionCookie, whoIs } from '../auth.ts';
import { takedownsChanged } from '../node/takedowns.ts';

type Json = Record<string, unknown>;

function body(req: FastifyRequest): Json {
  return req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? (req.body as Json) : {};
}

/**
 * The JSON API for scripts and the dashboard (`Authorization: Bearer <token>` or the
 * session cookie). Every failure is `{ error: { code, message } }` with a 4xx status.
 */
export function apiRoutes(app: FastifyInstance, ctx: CatalogContext): void {
  app.get<{ Querystring: { q?: string } }>('/api/search', async (req) => {
    const q = typeof req.query.q === 'string' ? req.query.q : '';
    return { hits: await search(ctx.db, q, 40, ctx.clock.now()) };
  });

  /** Who the caller is (session cookie or `Authorization: Bearer` token): a script's first check. */
  app.get('/api/account', async (req, reply) => {
    const who = await caller(ctx, req, reply);
    if (!who) return reply;
    return { account: { id: who.id, email: who.email, name: who.name, role: who.role } };
  });

  app.get<{ Params: { slug: string } }>('/api/shows/:slug', async (req, reply) => {
    const show = await getShow(ctx.db, req.params.slug);
    if (!show) return sendFailure(reply, { code: 'CAT_NOT_FOUND', message: 'no such show', status: 404 });
    // The owner (or an admin) also sees drafts and scheduled episodes, and a taken-down show.
    const who = await whoIs(ctx, req);
    const all = !!who && (who.id === show.ownerId || who.role === 'admin');
    if (show.takenDown && !all)
      return sendFailure(reply, { code: 'CAT_TAKEN_DOWN', message: 'this show was taken down', status: 410 });
    const episodes = await episodesOfShow(ctx.db, show.id, 500, { all, now: ctx.clock.now() });
    // A file missing from this node's media folder (another node's data dir, a lost disk):
    // said here, so a client does not follow a link that answers 404.
    const absent = await absentMedia(ctx.mediaDir, episodes);
    return { show, episodes: episodes.map((e) => ({ ...e, available: !absent.has(e.id) })) };
  });

  // Show takedown (admins; the admin token for scripts): { reason } hides the whole show,
  // DELETE reinstates it. The admin's content page does the same with forms.
  app.put<{ Params: { slug: string } }>('/api/shows/:slug/takedown', async (req, reply) => {
    const who = await caller(ctx, req, reply);
    if (!who) return reply;
    const show = await getShow(ctx.db, req.params.slug);
    if (!show) return sendFailure(reply, { code: 'CAT_NOT_FOUND', message: 'no such show', status: 404 });
    const r = await takeDownShow(ctx, who, show.id, String(body(req).reason ?? ''));
    if (r.ok) takedownsChanged(ctx.db);
    return r.ok ? r.value : sendFailure(reply, r);
  });

  app.delete<{ Params: { slug: string } }>('/api/shows/:slug/takedown', async (req, reply) => {
    const who = await caller(ctx, req, reply);
    if (!who) return reply;
    const show = await getShow(ctx.db, req.params.slug);
    if (!show) return sendFailure(reply, { code: 'CAT_NOT_FOUND', message: 'no such show', status: 404 });
    const r = await reinstateShow(ctx, who, show.id);
    if (r.ok) takedownsChanged(ctx.db);
    return r.ok ? reply.code(204).send() : sendFailure(reply, r);
  });

  app.get<{ Params: { id: string } }>('/api/episodes/:id', async (req, reply) => {
    const e = await getEpisode(ctx.db, req.params.id);
    const who = e && !isLive(e, ctx.clock.now()) ? await whoIs(ctx, req) : null;
    if (!e || (!isLive(e, ctx.clock.now()) && who?.id !== e.show.ownerId && who?.role !== 'admin'))
      return sendFailure(reply, { code: 'CAT_NOT_FOUND', message: 'no such episode', status: 404 });
    return { ...e, available: (await absentMedia(ctx.mediaDir, [e])).size === 0 };
  });

  /** What the ad server needs about an episode (EpisodeForAds). */
  app.get<{ Params: { id: string } }>('/api/episodes/:id/for-ads', async (req, reply) => {
    const e = await episodeForAds(ctx.db, req.params.id);
    if (!e) return sendFailure(reply, { code: 'CAT_NOT_FOUND', message: 'no such episode', status: 404 });
    return e;
  });

  app.get('/api/tokens', async (req, reply) => {
    const who = await caller(ctx, req, reply);
    if (!who) return reply;
    return { tokens: await listApiTokens(ctx.db, who.id, ctx.clock) };
  });

  app.post('/api/tokens', async (req, reply) => {
    const who = await caller(ctx, req, reply);
    if (!who) return reply;
    const b = body(req);
    const label = String(b.label ?? 'script');
    const days = b.expiresInDays === undefined ? apiTokenDefaultDays : Number(b.expiresInDays);
    if (!Number.isInteger(days) || days < 1 || days > apiTokenMaxDays)
      return sendFailure(reply, {
        code: 'CAT_BAD_INPUT',
        message: `expiresInDays: 1 to ${apiTokenMaxDays}`,
        status: 400,
      });
    const expiresAt = new Date(ctx.clock.now() + days * 86_400_000);
    const token = await createApiToken(ctx.db, who.id, label, expiresAt);
    return reply.code(201).send({ token, expiresAt });
  });

  app.delete<{ Params: { id: string } }>('/api/tokens/:id', async (req, reply) => {
    const who = await caller(ctx, req, reply);
    if (!who) return reply;
    const r = await revokeApiToken(ctx.db, who.id, req.params.id);
    if (!r.ok) return sendFailure(reply, r);
    return reply.code(204).send();
  });

  // Changing the password revokes every other credential: all API tokens and every other
  // session (the session making the change stays logged in).
  app.post('/api/password', async (req, reply) => {
    const who = await caller(ctx, req, reply);
    if (!who) return reply;
    const b = body(req);
    const bearer = req.headers.authorization?.startsWith('Bearer ');
    const r = await changePassword(
      ctx.db,
      who.id,
      String(b.current ?? ''),
      String(b.password ?? ''),
      bearer ? null : (readCookie(req.headers.cookie, sessionCookie) ?? null),
    );
    if (!r.ok) return sendFailure(reply, r);
    return r.value;
  });

  app.post('/api/shows', async (req, reply) => {
    const who = await caller(ctx, req, reply);
    if (!who) return reply;
    const r = await createShow(ctx.db, who, body(req) as unknown as ShowInput);
    return r.ok ? reply.code(201).send(r.value) : sendFailure(reply, r);
  });

  app.post<{ Params: { slug: string } }>('/api/shows/:slug/episodes', async (req, reply) => {
    const who = await caller(ctx, req, reply);
    if (!who) return reply;
    const b = body(req);
    const r = await publishEpisode(ctx, who, {
      showSlug: req.params.slug,
      uploadId: String(b.uploadId ?? ''),
      title: String(b.title ?? ''),
      description: String(b.description ?? ''),
      adBreaks: (b.adBreaks ?? []) as AdBreakInput[],
      draft: b.draft === true,
      ...(typeof b.publishAt === 'string' && b.publishAt ? { publishedAt: new Date(b.publishAt) } : {}),
    });
    return r.ok ? reply.code(201).send(r.value) : sendFailure(reply, r);
  });

  // Edit and delete: owner or admin only; someone else's show or episode is a 403 and
  // nothing is written (the catalog checks before its one write).
  app.put<{ Params: { slug: string } }>('/api/shows/:slug', async (req, reply) => {
    const who = await caller(ctx, req, reply);
    if (!who) return reply;
    const r = await updateShow(ctx, who, req.params.slug, body(req) as unknown as ShowInput);
    return r.ok ? r.value : sendFailure(reply, r);
  });

  app.delete<{ Params: { slug: string } }>('/api/shows/:slug', async (req, reply) => {
    const who = await caller(ctx, req, reply);
    if (!who) return reply;
    const r = await deleteShow(ctx, who, req.params.slug);
    return r.ok ? reply.code(204).send() : sendFailure(reply, r);
  });

  app.put<{ Params: { id: string } }>('/api/episodes/:id', async (req, reply) => {
    const who = await caller(ctx, req, reply);
    if (!who) return reply;
    const b = body(req);
    // Features (season, episodeNumber, episodeType, explicit, persons) only when sent.
    const features = Object.fromEntries(
      ['season', 'episodeNumber', 'episodeType', 'explicit', 'persons']
        .filter((k) => k in b)
        .map((k) => [k, b[k]]),
    );
    const r = await updateEpisode(ctx, who, req.params.id, {
      ...features,
      title: b.title,
      description: b.description,
    });
    return r.ok ? r.value : sendFailure(reply, r);
  });

  /** Drafts and scheduling: { draft?: boolean, publishAt?: ISO time }; the GUID stays. */
  app.put<{ Params: { id: string } }>('/api/episodes/:id/schedule', async (req, reply) => {
    const who = await caller(ctx, req, reply);
    if (!who) return reply;
    const r = await scheduleEpisode(ctx, who, req.params.id, body(req));
    return r.ok ? r.value : sendFailure(reply, r);
  });

  /** The chapter editor's save: [{ startMs, title, url?, img? }], replacing the chapters. */
  app.put<{ Params: { id: string } }>('/api/episodes/:id/chapters', async (req, reply) => {
    const who = await caller(ctx, req, reply);
    if (!who) return reply;
    const r = await setChapters(ctx, who, req.params.id, body(req).chapters);
    return r.ok ? r.value : sendFailure(reply, r);
  });

  /** Feed settings (owner e-mail, lock, move, persons, location, funding, license): replaced whole. */
  app.put<{ Params: { slug: string } }>('/api/shows/:slug/settings', async (req, reply) => {
    const who = await caller(ctx, req, reply);
    if (!who) return reply;
    const r = await updateFeedSettings(ctx, who, req.params.slug, body(req));
    return r.ok ? r.value : sendFailure(reply, r);
  });

  app.delete<{ Params: { id: string } }>('/api/episodes/:id', async (req, reply) => {
    const who = await caller(ctx, req, reply);
    if (!who) return reply;
    const r = await deleteEpisode(ctx, who, req.params.id);
    return r.ok ? reply.code(204).send() : sendFailure(reply, r);
  });

  app.put<{ Params: { id: string } }>('/api/episodes/:id/ad-breaks', async (req, reply) => {
    const who = await caller(ctx, req, reply);
    if (!who) return reply;
    const r = await setAdBreaks(ctx.db, who, req.params.id, (body(req).adBreaks ?? []) as AdBreakInput[]);
    return r.ok ? { adBreaks: r.value } : sendFailure(reply, r);
  });

  // Uploads are raw bodies (no multipart): streamed straight to disk with a size bound.
  app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    raw.post('/api/uploads', async (req, reply) => {
      const who = await caller(ctx, req, reply);
      if (!who) {
        req.raw.resume();
        return reply;
      }
      const declared = req.headers['content-length'];
      const name = req.headers['x-file-name'];
      const r = await storeUpload(ctx, who, req.body as Readable, {
        originalName: typeof name === 'string' ? safeDecode(name) : null,
        declaredBytes: declared !== undefined ? Number(declared) : null,
      });
      if (!r.ok) {
        // The rest of an oversized body is not worth reading: close after answering.
        if (r.code === 'CAT_UPLOAD_TOO_LARGE') reply.header('connection', 'close');
        return sendFailure(reply, r);
      }
      return reply.code(201).send(r.value);
    });

    // Show and episode artwork: a PNG or JPEG as the raw body, read into memory up to the bound.
    const artworkRoute = (
      path: string,
      set: (who: Account, key: string, bytes: Uint8Array) => Promise<Result<unknown>>,
    ) =>
      raw.put<{ Params: { key: string } }>(path, async (req, reply) => {
        const who = await caller(ctx, req, reply);
        if (!who) {
          req.raw.resume();
          return reply;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of req.body as Readable) {
          size += (chunk as Buffer).length;
          if (size > maxArtworkBytes) {
            reply.header('connection', 'close');
            return sendFailure(reply, {
              code: 'CAT_UPLOAD_TOO_LARGE',
              message: `artwork is at most ${maxArtworkBytes} bytes`,
              status: 413,
            });
          }
          chunks.push(chunk as Buffer);
        }
        const r = await set(who, req.params.key, Buffer.concat(chunks));
        return r.ok ? r.value : sendFailure(reply, r);
      });
    artworkRoute('/api/shows/:key/artwork', (who, slug, bytes) => setShowArtwork(ctx, who, slug, bytes));
    artworkRoute('/api/episodes/:key/artwork', (who, id, bytes) => setEpisodeArtwork(ctx, who, id, bytes));
    // Transcripts: SRT, WebVTT or Podcasting 2.0 JSON as the raw body, ?language=en.
    raw.put<{ Params: { key: string }; Querystring: { language?: string } }>(
      '/api/episodes/:key/transcript',
      async (req, reply) => {
        const who = await caller(ctx, req, reply);
        if (!who) {
          req.raw.resume();
          return reply;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of req.body as Readable) {
          size += (chunk as Buffer).length;
          if (size > maxTranscriptBytes) {
            reply.header('connection', 'close');
            return sendFailure(reply, {
              code: 'CAT_UPLOAD_TOO_LARGE',
              message: `a transcript is at most ${maxTranscriptBytes} bytes`,
              status: 413,
            });
          }
          chunks.push(chunk as Buffer);
        }
        const language =
          typeof req.query.language === 'string' && req.query.language ? req.query.language : 'en';
        const r = await setTranscript(ctx, who, req.params.key, Buffer.concat(chunks), language);
        return r.ok ? r.value : sendFailure(reply, r);
      },
    );
  });
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

import { type CatalogContext, type EpisodeDetail, setChapters, setTranscript } from '@swarmcast/catalog';
import { formatClock, type Html, html, page } from '@swarmcast/platform';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sameOrigin, whoIs } from '../auth.ts';
import { enc } from '../portal/fragments.ts';
import { type FormBody, one, parseTime } from './form.ts';

/**
 * The episode page's chapter editor and transcript form (issue 16), apart from routes.ts.
 * Chapters are edited as lines "start | title | link | image" (no script needed); a
 * transcript is a file (sent by dashboard.js as the API's raw body) or pasted text.
 */
export function episodeExtrasSection(e: EpisodeDetail): Html {
  const lines = e.chapters.map((c) =>
    [formatClock(c.startMs), c.title, c.url ?? '', c.img ?? ''].join(' | ').replace(/( \| )+$/, ''),
  );
  return html`<h2 id="chapters-h">Chapters</h2>
<form class="stack" method="post" action="/dashboard/episodes/${enc(e.id)}/chapters" aria-labelledby="chapters-h">
<label>One chapter per line: start | title | link | image <textarea name="chapters" rows="${Math.max(4, lines.length + 1)}" maxlength="100000" class="mono" placeholder="0:00 | Intro&#10;12:30 | Interview | https://example.org/guest">${lines.join('\n')}</textarea>
<span class="hint">Apps show them from the podcast:chapters JSON of the feed. Link and image are optional.</span></label>
<div><button type="submit">Save chapters</button></div></form>
<h2 id="transcript-h">Transcript</h2>
${
  e.transcripts.length
    ? html`<ul class="list">${e.transcripts.map((t) => html`<li>${t.language}: <a href="/media/${t.path.split('/').map(enc).join('/')}">${t.format.toUpperCase()}</a></li>`)}</ul>`
    : html`<p class="hint">No transcript yet.</p>`
}
<form class="stack" id="transcript-form" method="post" action="/dashboard/episodes/${enc(e.id)}/transcript" data-transcript-url="/api/episodes/${enc(e.id)}/transcript" aria-labelledby="transcript-h">
<label>Transcript file <input type="file" id="transcript-file" name="transcriptFile" accept=".srt,.vtt,.json,text/vtt,application/x-subrip,application/json" aria-describedby="transcript-status">
<span class="hint">SRT (.srt), WebVTT (.vtt) or Podcasting 2.0 JSON (.json), at most 2 MB. Listeners see it as captions in the player.</span></label>
<label>Or paste its text <textarea name="transcript" id="transcript-text" rows="6" maxlength="2097152" class="mono"></textarea></label>
<label>Language <input name="language" id="transcript-language" value="${e.transcripts[0]?.language ?? e.show.language}" maxlength="35"></label>
<div><button type="submit">Save transcript</button></div>
<p id="transcript-status" role="status" aria-live="polite"></p></form>`;
}

/** "start | title | link | image" lines -> chapter inputs; a bad time names its line. */
export function chaptersFromText(
  text: string,
): { ok: true; value: unknown[] } | { ok: false; message: string } {
  const out: unknown[] = [];
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    if (!line.trim()) continue;
    const [start = '', title = '', url = '', img = ''] = line.split('|').map((p) => p.trim());
    const startMs = parseTime(start);
    if (startMs === null)
      return { ok: false, message: `line ${i + 1}: "${start}" is not a time; write 90, 1:30 or 1:02:03` };
    out.push({ startMs, title, url, img });
  }
  return { ok: true, value: out };
}

export function episodeExtrasRoutes(app: FastifyInstance, ctx: CatalogContext): void {
  const guard = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!sameOrigin(req)) {
      await reply.code(403).type('text/plain').send('cross-site form refused');
      return null;
    }
    const who = await whoIs(ctx, req);
    if (!who) await reply.redirect('/login', 303);
    return who;
  };
  const failed = (
    reply: FastifyReply,
    who: Parameters<typeof page>[0]['viewer'],
    id: string,
    message: string,
    status: number,
  ) =>
    reply
      .code(status)
      .type('text/html; charset=utf-8')
      .send(
        page(
          { title: 'Not saved', viewer: who, crumbs: [['/dashboard', 'Dashboard']] },
          html`<h1>Not saved</h1><p class="error" role="alert">${message}</p><p><a href="/dashboard/episodes/${enc(id)}">Back to the episode</a></p>`,
        ),
      );

  app.post<{ Params: { id: string }; Body: FormBody }>(
    '/dashboard/episodes/:id/chapters',
    async (req, reply) => {
      const who = await guard(req, reply);
      if (!who) return reply;
      const parsed = chaptersFromText(one(req.body ?? {}, 'chapters'));
      if (!parsed.ok) return failed(reply, who, req.params.id, parsed.message, 400);
      const r = await setChapters(ctx, who, req.params.id, parsed.value);
      if (!r.ok) return failed(reply, who, req.params.id, r.message, r.status);
      return reply.redirect(`/dashboard/episodes/${enc(r.value.id)}#chapters-h`, 303);
    },
  );

  app.post<{ Params: { id: string }; Body: FormBody }>(
    '/dashboard/episodes/:id/transcript',
    async (req, reply) => {
      const who = await guard(req, reply);
      if (!who) return reply;
      const f = req.body ?? {};
      // Without script a browser sends a file field's name only: say so instead of "no captions".
      if (!one(f, 'transcript').trim())
        return failed(
          reply,
          who,
          req.params.id,
          one(f, 'transcriptFile')
            ? `Only the file's name (${one(f, 'transcriptFile').slice(0, 100)}) arrived: this page needs JavaScript to send a file. Paste its text instead.`
            : 'Choose a transcript file or paste its text.',
          422,
        );
      const r = await setTranscript(
        ctx,
        who,
        req.params.id,
        Buffer.from(one(f, 'transcript'), 'utf8'),
        one(f, 'language') || 'en',
      );
      if (!r.ok) return failed(reply, who, req.params.id, r.message, r.status);
      return reply.redirect(`/dashboard/episodes/${enc(r.value.id)}#transcript-h`, 303);
    },
  );
}

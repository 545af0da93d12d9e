import type { Chapter } from '../ad-break-rules.ts';
import { fail, ok, type Result } from '../errors.ts';
import { httpUrl } from '../feed/settings.ts';
import { cleanText } from '../slug.ts';

/**
 * A Podcasting 2.0 JSON chapters file (application/json+chapters, version 1.x) as our
 * chapters: startTime in seconds, title; entries with toc:false (hidden markers) are kept
 * only if titled. Outside bytes: at most 1000 chapters, times finite and ascending.
 */
export function parseChaptersJson(text: string): Result<Chapter[]> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return fail('CAT_BAD_INPUT', 'chapters: not JSON');
  }
  const list = (doc as { chapters?: unknown })?.chapters;
  if (!Array.isArray(list) || list.length > 1000)
    return fail('CAT_BAD_INPUT', 'chapters: a "chapters" list of at most 1000');
  const out: Chapter[] = [];
  for (const c of list as Array<Record<string, unknown>>) {
    const start = Number(c?.startTime);
    const title = cleanText(c?.title).slice(0, 200);
    if (!Number.isFinite(start) || start < 0)
      return fail('CAT_BAD_INPUT', 'chapters: startTime must be seconds >= 0');
    if (!title) continue;
    const chapter: Chapter = { title, startMs: Math.round(start * 1000) };
    const url = httpUrl(c.url);
    const img = httpUrl(c.img);
    if (url) chapter.url = url;
    if (img) chapter.img = img;
    out.push(chapter);
  }
  out.sort((a, b) => a.startMs - b.startMs);
  return ok(out.filter((c, i) => i === 0 || c.startMs !== out[i - 1]?.startMs));
}

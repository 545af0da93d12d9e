import type { AdBreakInput } from '@swarmcast/catalog';

/** A parsed urlencoded form: repeated names become lists. */
export type FormBody = Record<string, string | string[] | undefined>;

export function parseForm(text: string): FormBody {
  const out: FormBody = {};
  for (const [k, v] of new URLSearchParams(text)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

export function one(form: FormBody, name: string): string {
  const v = form[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

export function many(form: FormBody, name: string): string[] {
  const v = form[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** "90", "1:30", "1:02:03", "1:30.5" -> milliseconds; null for anything else. */
export function parseTime(text: string): number | null {
  const m = /^(?:(\d{1,2}):)?(?:(\d{1,3}):)?(\d{1,5}(?:\.\d{1,3})?)$/.exec(text.trim());
  if (!m) return null;
  const parts = [m[1], m[2]].filter((p): p is string => p !== undefined).map(Number);
  const seconds = Number(m[3]);
  const [h, min] = parts.length === 2 ? parts : [0, parts[0] ?? 0];
  if (parts.length > 0 && seconds >= 60) return null;
  return Math.round(((h as number) * 3600 + (min as number) * 60 + seconds) * 1000);
}

/**
 * The ad-break fields of the dashboard forms: `pre` and `post` checkboxes, `mids` as a
 * comma-separated list of times, `chapter` checkboxes (chapter indexes).
 */
export function adBreaksFromForm(
  form: FormBody,
): { ok: true; value: AdBreakInput[] } | { ok: false; message: string } {
  const out: AdBreakInput[] = [];
  if (one(form, 'pre')) out.push({ position: 'pre' });
  for (const t of one(form, 'mids')
    .split(/[,;\s]+/)
    .filter(Boolean)) {
    const ms = parseTime(t);
    if (ms === null) return { ok: false, message: `"${t}" is not a time; write 90, 1:30 or 1:02:03` };
    out.push({ position: 'mid', atMs: ms });
  }
  for (const c of many(form, 'chapter')) {
    if (!/^\d{1,3}$/.test(c)) return { ok: false, message: 'a chapter choice is malformed' };
    out.push({ position: 'mid', chapter: Number(c) });
  }
  if (one(form, 'post')) out.push({ position: 'post' });
  return { ok: true, value: out };
}

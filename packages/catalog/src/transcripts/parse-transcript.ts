import { fail, ok, type Result } from '../errors.ts';

export type TranscriptFormat = 'vtt' | 'srt' | 'json';

export interface Cue {
  startMs: number;
  endMs: number;
  text: string;
  speaker?: string;
}

/** A transcript file is refused above this size (a three-hour episode's VTT is ~300 KB). */
export const maxTranscriptBytes = 2 * 1024 * 1024;
const maxCues = 50_000;

/** The MIME type Podcasting 2.0 names for each format (podcast:transcript type=). */
export const transcriptTypes: Record<TranscriptFormat, string> = {
  vtt: 'text/vtt',
  srt: 'application/x-subrip',
  json: 'application/json',
};

/** "01:02:03.456", "02:03.456" (VTT) or "01:02:03,456" (SRT) -> ms; null if malformed. */
function time(text: string, comma: boolean): number | null {
  const m = (
    comma ? /^(\d{1,3}):([0-5]\d):([0-5]\d),(\d{3})$/ : /^(?:(\d{1,3}):)?([0-5]\d):([0-5]\d)\.(\d{3})$/
  ).exec(text.trim());
  if (!m) return null;
  return ((Number(m[1] ?? 0) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4]);
}

// Cue text is shown as text: tags (VTT <v>, <i>, SRT <font>) are dropped, control characters too.
const plain = (s: string) =>
  s
    .replace(/<[^>]{0,200}>/g, '')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '')
    .trim();

function cues(blocks: string[], comma: boolean, format: string): Result<Cue[]> {
  const out: Cue[] = [];
  for (const block of blocks) {
    const lines = block.split('\n');
    const at = lines.findIndex((l) => l.includes('-->'));
    if (at < 0) continue; // a number-only line, NOTE, STYLE or REGION block
    const [a, rest = ''] = lines[at]!.split('-->');
    const startMs = time(a ?? '', comma);
    const endMs = time(rest.trim().split(/\s+/)[0] ?? '', comma);
    if (startMs === null || endMs === null || endMs < startMs)
      return fail('CAT_BAD_TRANSCRIPT', `${format}: bad cue timing "${lines[at]!.slice(0, 60)}"`);
    out.push({ startMs, endMs, text: plain(lines.slice(at + 1).join('\n')) });
    if (out.length > maxCues) return fail('CAT_BAD_TRANSCRIPT', `${format}: more than ${maxCues} cues`);
  }
  if (out.length === 0) return fail('CAT_BAD_TRANSCRIPT', `${format}: no cues`);
  return ok(out);
}

/**
 * Reads an SRT, WebVTT or Podcasting 2.0 JSON transcript (outside bytes: size-bounded,
 * every cue's timing checked, tags stripped from the text). The format comes from the
 * content (a WEBVTT signature, a JSON object, else SRT), never from a file name.
 */
export function parseTranscript(bytes: Uint8Array): Result<{ format: TranscriptFormat; cues: Cue[] }> {
  if (bytes.length > maxTranscriptBytes)
    return fail('CAT_BAD_TRANSCRIPT', `a transcript is at most ${maxTranscriptBytes} bytes`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\ufeff/, '');
  } catch {
    return fail('CAT_BAD_TRANSCRIPT', 'a transcript must be UTF-8 text');
  }
  const normal = text.replace(/\r\n?/g, '\n');
  if (/^WEBVTT(?:[ \t].*)?(?:\n|$)/.test(normal)) {
    const r = cues(normal.split(/\n{2,}/).slice(1), false, 'WebVTT');
    return r.ok ? ok({ format: 'vtt', cues: r.value }) : r;
  }
  if (normal.trimStart().startsWith('{')) {
    let doc: unknown;
    try {
      doc = JSON.parse(normal);
    } catch {
      return fail('CAT_BAD_TRANSCRIPT', 'JSON transcript: not JSON');
    }
    const segments = (doc as { segments?: unknown })?.segments;
    if (!Array.isArray(segments) || segments.length === 0 || segments.length > maxCues)
      return fail('CAT_BAD_TRANSCRIPT', `JSON transcript: "segments", 1 to ${maxCues}`);
    const out: Cue[] = [];
    for (const s of segments as Array<Record<string, unknown>>) {
      const start = Number(s?.startTime);
      const end = Number(s?.endTime);
      if (!Number.isFinite(start) || !Number.isFinite(end) || start < 0 || end < start)
        return fail(
          'CAT_BAD_TRANSCRIPT',
          'JSON transcript: startTime and endTime are seconds, end after start',
        );
      const cue: Cue = {
        startMs: Math.round(start * 1000),
        endMs: Math.round(end * 1000),
        text: plain(String(s.body ?? '')),
      };
      if (typeof s.speaker === 'string' && s.speaker) cue.speaker = plain(s.speaker).slice(0, 100);
      out.push(cue);
    }
    return ok({ format: 'json', cues: out });
  }
  const r = cues(normal.trim().split(/\n{2,}/), true, 'SRT');
  return r.ok ? ok({ format: 'srt', cues: r.value }) : r;
}

/** WebVTT of any transcript: what the browser's <track> element plays as captions. */
export function toWebVtt(list: readonly Cue[]): string {
  const t = (ms: number) => {
    const h = Math.floor(ms / 3_600_000);
    const m = Math.floor((ms % 3_600_000) / 60_000);
    const s = Math.floor((ms % 60_000) / 1000);
    const p = (n: number, w = 2) => String(n).padStart(w, '0');
    return `${p(h)}:${p(m)}:${p(s)}.${p(ms % 1000, 3)}`;
  };
  // Cue text is escaped (WebVTT reads <, & as markup); a blank line would end the cue.
  const clean = (s: string) =>
    s
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/\n{2,}/g, '\n');
  return `WEBVTT\n\n${list.map((c) => `${t(c.startMs)} --> ${t(c.endMs)}\n${c.speaker ? `<v ${clean(c.speaker)}>` : ''}${clean(c.text)}`).join('\n\n')}\n`;
}

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

const clockOf = (ms: number) => {
  const s = Math.floor(ms / 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${Math.floor(s / 3600)}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}`;
};

/**
 * The cues of SRT or WebVTT blocks. Refusals say where and how to fix it, in the creator's
 * terms (caption number, the line as written, an example of the right form).
 */
function cues(blocks: string[], comma: boolean, format: string): Result<Cue[]> {
  const out: Cue[] = [];
  const example = comma ? '00:01:02,500 --> 00:01:05,000' : '00:01:02.500 --> 00:01:05.000';
  for (const block of blocks) {
    const lines = block.split('\n');
    const at = lines.findIndex((l) => l.includes('-->'));
    if (at < 0) continue; // a number-only line, NOTE, STYLE or REGION block
    const [a, rest = ''] = lines[at]!.split('-->');
    const startMs = time(a ?? '', comma);
    const endMs = time(rest.trim().split(/\s+/)[0] ?? '', comma);
    const where = `${format} caption ${out.length + 1} ("${lines[at]!.trim().slice(0, 60)}")`;
    if (startMs === null || endMs === null)
      return fail('CAT_BAD_TRANSCRIPT', `${where}: the times are not readable; write them like ${example}`);
    if (endMs < startMs)
      return fail(
        'CAT_BAD_TRANSCRIPT',
        `${where}: it ends at ${clockOf(endMs)}, before it starts at ${clockOf(startMs)}`,
      );
    out.push({ startMs, endMs, text: plain(lines.slice(at + 1).join('\n')) });
    if (out.length > maxCues)
      return fail(
        'CAT_BAD_TRANSCRIPT',
        `this ${format} file has more than ${maxCues} captions; split the episode's text`,
      );
  }
  if (out.length === 0)
    return fail(
      'CAT_BAD_TRANSCRIPT',
      `no captions found: this is not an SRT, WebVTT or Podcasting 2.0 JSON transcript (each caption needs a time line like ${example})`,
    );
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
    return fail(
      'CAT_BAD_TRANSCRIPT',
      'this file is not text (a transcript is an .srt, .vtt or .json text file, UTF-8)',
    );
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
      return fail('CAT_BAD_TRANSCRIPT', 'this JSON transcript is cut short or malformed: it cannot be read');
    }
    const segments = (doc as { segments?: unknown })?.segments;
    if (!Array.isArray(segments) || segments.length === 0 || segments.length > maxCues)
      return fail(
        'CAT_BAD_TRANSCRIPT',
        `this JSON file has no "segments" list (1 to ${maxCues} captions), as Podcasting 2.0 transcripts do`,
      );
    const out: Cue[] = [];
    for (const s of segments as Array<Record<string, unknown>>) {
      const start = Number(s?.startTime);
      const end = Number(s?.endTime);
      if (!Number.isFinite(start) || !Number.isFinite(end) || start < 0 || end < start)
        return fail(
          'CAT_BAD_TRANSCRIPT',
          `JSON transcript caption ${out.length + 1}: startTime and endTime are seconds from the start, the end after the start`,
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

/** SubRip of any transcript (speakers as a "Name: " prefix, as SRT has no voice tag). */
export function toSrt(list: readonly Cue[]): string {
  const t = (ms: number) => {
    const p = (n: number, w = 2) => String(n).padStart(w, '0');
    return `${p(Math.floor(ms / 3_600_000))}:${p(Math.floor((ms % 3_600_000) / 60_000))}:${p(Math.floor((ms % 60_000) / 1000))},${p(ms % 1000, 3)}`;
  };
  // A blank line ends an SRT cue: runs of newlines inside a text become one.
  const clean = (s: string) => s.replace(/\n{2,}/g, '\n');
  return `${list.map((c, i) => `${i + 1}\n${t(c.startMs)} --> ${t(c.endMs)}\n${c.speaker ? `${clean(c.speaker)}: ` : ''}${clean(c.text)}`).join('\n\n')}\n`;
}

/** Podcasting 2.0 JSON transcript of any transcript (seconds, `segments`). */
export function toJsonTranscript(list: readonly Cue[]): string {
  return JSON.stringify({
    version: '1.0.0',
    segments: list.map((c) => ({
      ...(c.speaker ? { speaker: c.speaker } : {}),
      startTime: c.startMs / 1000,
      endTime: c.endMs / 1000,
      body: c.text,
    })),
  });
}

/** A transcript in one of the formats podcast:transcript names. */
export function renderTranscript(format: TranscriptFormat, list: readonly Cue[]): string {
  return format === 'vtt' ? toWebVtt(list) : format === 'srt' ? toSrt(list) : toJsonTranscript(list);
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

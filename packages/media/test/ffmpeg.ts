import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** Debian's ffmpeg as the reference decoder and as a maker of test MP3s (tests only). */
const run = promisify(execFile);

export interface Tone {
  /** Hz of a sine, or 0 for silence. */
  hz: number;
  seconds: number;
  sampleRate: number;
  channels: 1 | 2;
  /** CBR kbps, or a LAME VBR quality with `vbr`. */
  kbps?: number;
  vbr?: number;
  id3?: boolean;
  xing?: boolean;
  id3v1?: boolean;
  /** Chapters written as ID3v2 CHAP frames: [startMs, endMs, title]. */
  chapters?: Array<[number, number, string]>;
}

/** Make an MP3 of a tone with ffmpeg's libmp3lame. */
export async function makeMp3(dir: string, name: string, t: Tone): Promise<string> {
  const out = join(dir, name);
  const source =
    t.hz > 0
      ? `sine=frequency=${t.hz}:sample_rate=${t.sampleRate}:duration=${t.seconds}`
      : `anullsrc=r=${t.sampleRate}:cl=mono:d=${t.seconds}`;
  const chapterArgs: string[] = [];
  if (t.chapters) {
    const meta = join(dir, `${name}.ffmeta`);
    await writeFile(
      meta,
      `;FFMETADATA1\n${t.chapters.map(([a, z, title]) => `[CHAPTER]\nTIMEBASE=1/1000\nSTART=${a}\nEND=${z}\ntitle=${title}\n`).join('')}`,
    );
    chapterArgs.push('-i', meta, '-map', '0', '-map_chapters', '1');
  }
  const args = [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    source,
    ...chapterArgs,
    '-ac',
    String(t.channels),
    '-ar',
    String(t.sampleRate),
    '-c:a',
    'libmp3lame',
  ];
  if (t.vbr !== undefined) args.push('-q:a', String(t.vbr));
  else args.push('-b:a', `${t.kbps ?? 128}k`);
  args.push('-write_xing', t.xing === false ? '0' : '1');
  if (t.id3 === false) args.push('-id3v2_version', '0');
  else args.push('-id3v2_version', '3', '-metadata', 'title=Swarmcast test', '-metadata', 'artist=i11');
  if (t.id3v1) args.push('-write_id3v1', '1');
  args.push(out);
  await run('ffmpeg', args);
  return out;
}

/** `ffmpeg -v error -i f -f null -`: the decoder's complaints (empty when the file is clean). */
export async function decodeErrors(file: string): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, '-f', 'null', '-']);
  return stderr.trim();
}

/** Duration in seconds as ffprobe reports it (from the Xing header when there is one). */
export async function probeDuration(file: string): Promise<number> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'format=duration',
    '-of',
    'csv=p=0',
    file,
  ]);
  return Number(stdout.trim());
}

/** Decode to mono 16-bit PCM at `rate` (ffmpeg applies the LAME tag's gapless trimming). */
export async function decodePcm(file: string, rate: number): Promise<Int16Array> {
  const raw = join(`${file}.pcm`);
  await run('ffmpeg', [
    '-nostdin',
    '-v',
    'error',
    '-y',
    '-i',
    file,
    '-ac',
    '1',
    '-ar',
    String(rate),
    '-f',
    's16le',
    raw,
  ]);
  const b = await readFile(raw);
  return new Int16Array(b.buffer, b.byteOffset, b.length / 2);
}

export { dominantTone, tonePower } from './tone.ts';

/** Chapters as ffprobe reads them from the file: [startMs, endMs, title]. */
export async function probeChapters(file: string): Promise<Array<[number, number, string]>> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_chapters', '-of', 'json', file]);
  const chapters = (
    JSON.parse(stdout) as {
      chapters: Array<{ start_time: string; end_time: string; tags?: { title?: string } }>;
    }
  ).chapters;
  return chapters.map((c) => [
    Math.round(Number(c.start_time) * 1000),
    Math.round(Number(c.end_time) * 1000),
    c.tags?.title ?? '',
  ]);
}

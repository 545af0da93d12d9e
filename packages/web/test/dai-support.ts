/**
 * Test helpers for dynamic ad insertion: Debian's ffmpeg as a stand-in codec for preparing
 * ads (the node's own is the media layer's npm codec) and as the reference decoder.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Mp3Profile, scanMp3 } from '@swarmcast/media';

const run = promisify(execFile);

/** Re-encodes a creative with ffmpeg's libmp3lame for `profile`: raw frames, no tags. */
export async function ffmpegPrepare(input: Uint8Array, profile: Mp3Profile) {
  const dir = await mkdtemp(join(tmpdir(), 'dai-prep-'));
  try {
    await writeFile(join(dir, 'in'), input);
    const kbps = profile.channels === 2 ? 64 : 32;
    await run('ffmpeg', [
      '-nostdin',
      '-v',
      'error',
      '-y',
      '-i',
      join(dir, 'in'),
      '-ar',
      String(profile.sampleRate),
      '-ac',
      String(profile.channels),
      '-c:a',
      'libmp3lame',
      '-b:a',
      `${kbps}k`,
      '-write_xing',
      '0',
      '-id3v2_version',
      '0',
      join(dir, 'out.mp3'),
    ]);
    const bytes = new Uint8Array(await readFile(join(dir, 'out.mp3')));
    const scan = scanMp3(bytes);
    if (!scan.ok) throw scan.error;
    const s = scan.value;
    return {
      frames: bytes.slice(s.audioStart, s.audioEnd),
      frameCount: s.frameCount,
      profile: s.profile,
      kbps,
      encoderDelay: 576,
      encoderPadding: 0,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `ffmpeg -v error -i f -f null -`: the decoder's complaints (empty when the file is clean). */
export async function decodeErrors(file: string): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, '-f', 'null', '-']);
  return stderr.trim();
}

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

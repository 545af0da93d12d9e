import { realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';

/**
 * The media path of a request, checked before the file system is touched. `raw` is the
 * still percent-encoded part of the URL path after the origin's prefix, without the query.
 *
 * Refused with 400: backslashes (raw or encoded), empty segments, `.` and `..`, bad
 * percent-encoding, NUL and other control characters, encoded slashes inside a segment,
 * over-long names. Refused with 404 (nothing to see): a segment starting with `.`.
 * After that, the file's real path (symlinks resolved) must still be inside the root's.
 */
export type PathCheck = { ok: true; segments: string[] } | { ok: false; status: 400 | 404; why: string };

const MAX_SEGMENTS = 32;
const MAX_SEGMENT_BYTES = 255;

export function checkMediaPath(raw: string): PathCheck {
  if (raw.length > 4096) return { ok: false, status: 400, why: 'path too long' };
  if (raw.includes('\\') || /%5c/i.test(raw)) return { ok: false, status: 400, why: 'backslash in path' };
  const parts = raw.replace(/^\//, '').split('/');
  if (parts.length > MAX_SEGMENTS) return { ok: false, status: 400, why: 'too many segments' };
  const segments: string[] = [];
  for (const part of parts) {
    if (part === '') return { ok: false, status: 400, why: 'empty path segment' };
    let s: string;
    try {
      s = decodeURIComponent(part);
    } catch {
      return { ok: false, status: 400, why: 'bad percent-encoding' };
    }
    if (/[\u0000-\u001f\u007f/\\]/.test(s)) return { ok: false, status: 400, why: 'forbidden character' };
    if (s === '.' || s === '..') return { ok: false, status: 400, why: 'relative segment' };
    if (Buffer.byteLength(s) > MAX_SEGMENT_BYTES) return { ok: false, status: 400, why: 'name too long' };
    if (s.startsWith('.')) return { ok: false, status: 404, why: 'hidden file' };
    segments.push(s);
  }
  return { ok: true, segments };
}

export interface PublishedFile {
  path: string;
  size: number;
  mtimeMs: number;
}

/**
 * The regular file at `segments` under `realRoot` (the root's own realpath), or null when
 * there is none, it is not a regular file, or a symlink leads outside the root.
 */
export async function findPublished(realRoot: string, segments: string[]): Promise<PublishedFile | null> {
  try {
    const real = await realpath(join(realRoot, ...segments));
    if (!real.startsWith(realRoot + sep)) return null;
    const st = await stat(real);
    if (!st.isFile()) return null;
    return { path: real, size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    return null;
  }
}

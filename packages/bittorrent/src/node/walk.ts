import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { SourceFile } from '../create/plan.ts';
import { fail, ok, type Result } from '../errors.ts';

/** A file found on disk, with where to read it. */
export interface DiskFile extends SourceFile {
  readonly absolutePath: string;
}

/** What a path on disk turns into: the torrent's name and its files. */
export interface DiskSource {
  readonly name: string;
  readonly singleFile: boolean;
  readonly files: readonly DiskFile[];
}

const MAX_FILES = 1_000_000;

/**
 * Lists a file, or every regular file under a folder (hidden files included, symlinks
 * followed, as mktorrent does; sockets and devices skipped). Order is left to the planner.
 */
export async function listSource(path: string): Promise<Result<DiskSource>> {
  const root = resolve(path);
  let top: Awaited<ReturnType<typeof stat>>;
  try {
    top = await stat(root);
  } catch (cause) {
    return fail('BT_CREATE_NOT_FOUND', `cannot read ${path}: ${(cause as Error).message}`, cause);
  }
  const name = basename(root);
  if (top.isFile())
    return ok({ name, singleFile: true, files: [{ path: [name], length: top.size, absolutePath: root }] });
  if (!top.isDirectory()) return fail('BT_CREATE_NOT_FOUND', `${path} is neither a file nor a folder`);
  const files: DiskFile[] = [];
  const seen = new Set<string>();
  const walk = async (dir: string, prefix: string[]): Promise<void> => {
    const s = await stat(dir);
    const id = `${s.dev}:${s.ino}`;
    if (seen.has(id)) return; // a symlink loop
    seen.add(id);
    for (const entry of await readdir(dir)) {
      const abs = join(dir, entry);
      const st = await stat(abs).catch(() => null); // dangling symlink: skipped, as mktorrent warns and skips
      if (!st) continue;
      if (st.isDirectory()) await walk(abs, [...prefix, entry]);
      else if (st.isFile()) {
        files.push({ path: [...prefix, entry], length: st.size, absolutePath: abs });
        if (files.length > MAX_FILES) throw new Error(`more than ${MAX_FILES} files`);
      }
    }
    seen.delete(id);
  };
  try {
    await walk(root, []);
  } catch (cause) {
    return fail('BT_CREATE_IO', `cannot list ${path}: ${(cause as Error).message}`, cause);
  }
  return ok({ name, singleFile: false, files });
}

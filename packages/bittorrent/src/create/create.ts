import { fail, ok, type Result } from '../errors.ts';
import type { Hasher } from '../hasher.ts';
import type { TorrentVersion } from '../metainfo/model.ts';
import { assembleTorrent, type BuiltTorrent, type TorrentMeta } from './assemble.ts';
import { hashPiece, type PieceHashes, pieceRange } from './hash-piece.ts';
import { autoPieceLength, validPieceLength } from './piece-length.ts';
import { planTorrent, type SourceFile, type TorrentPlan } from './plan.ts';

/** How to make a torrent. */
export interface CreateOptions extends TorrentMeta {
  /** Default 'v1' (what aria2 1.36 and Transmission 3 understand). */
  readonly version?: TorrentVersion;
  /** Bytes; default `autoPieceLength(total)`. v1: a multiple of 16 KiB; v2/hybrid: a power of two. */
  readonly pieceLength?: number;
}

/**
 * Checks the inputs and lays the torrent out (shared by the in-memory creator and the Node
 * adapter). `singleFile` when the torrent is one file given as itself.
 */
export function planFromOptions(
  name: string,
  sources: readonly SourceFile[],
  singleFile: boolean,
  options: CreateOptions,
): Result<TorrentPlan> {
  const version = options.version ?? 'v1';
  if (sources.length === 0) return fail('BT_CREATE_EMPTY', 'nothing to put in the torrent: no files');
  const total = sources.reduce((n, f) => n + f.length, 0);
  if (total === 0) return fail('BT_CREATE_EMPTY', 'nothing to put in the torrent: every file is empty');
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    return fail('BT_CREATE_BAD_NAME', `unusable torrent name ${JSON.stringify(name)}`);
  }
  const pieceLength = options.pieceLength ?? autoPieceLength(total);
  if (!validPieceLength(pieceLength, version)) {
    return fail(
      'BT_CREATE_BAD_PIECE_LENGTH',
      `piece length ${pieceLength} is not ${version === 'v1' ? 'a multiple of 16 KiB' : 'a power of two'} between 16 KiB and 256 MiB`,
    );
  }
  return ok(planTorrent(name, sources, version, pieceLength, singleFile));
}

/** A file held in memory, for the in-memory creator. */
export interface MemoryFile {
  readonly path: readonly string[];
  readonly data: Uint8Array;
}

/**
 * Makes a torrent from files in memory with any Hasher (browsers; small payloads). For
 * files on disk in Node use `createTorrent` from `@swarmcast/bittorrent/node` (worker threads).
 * A single file is given as `[{ path: [name], data }]` with `singleFile` true.
 */
export async function createTorrentFromMemory(
  name: string,
  files: readonly MemoryFile[],
  options: CreateOptions & { readonly singleFile?: boolean },
  hasher: Hasher,
): Promise<Result<BuiltTorrent & { readonly plan: TorrentPlan }>> {
  const singleFile = options.singleFile ?? false;
  const planned = planFromOptions(
    name,
    files.map((f) => ({ path: f.path, length: f.data.length })),
    singleFile,
    options,
  );
  if (!planned.ok) return planned;
  const plan = planned.value;
  const byPath = new Map(files.map((f) => [f.path.join('/'), f.data]));
  const space = new Uint8Array(plan.length);
  for (const f of plan.files) if (!f.pad) space.set(byPath.get(f.path.join('/'))!, f.offset);
  const hashes: PieceHashes[] = [];
  for (let i = 0; i < plan.pieceCount; i++) {
    const { start, length } = pieceRange(plan, i);
    hashes.push(await hashPiece(plan, i, space.subarray(start, start + length), hasher));
  }
  return ok({ ...(await assembleTorrent(plan, hashes, options, hasher)), plan });
}

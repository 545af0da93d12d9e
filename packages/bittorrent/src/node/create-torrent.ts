import { assembleTorrent, type BuiltTorrent } from '../create/assemble.ts';
import { type CreateOptions, planFromOptions } from '../create/create.ts';
import type { TorrentPlan } from '../create/plan.ts';
import { fail, ok, type Result } from '../errors.ts';
import { asInfoHashV1, asInfoHashV2, type InfoHashes } from '../types.ts';
import { type HashPoolOptions, hashPlan } from './hash-pool.ts';
import { nodeHasher, sha1Sync, sha256Sync } from './hasher.ts';
import { listSource } from './walk.ts';

/** A torrent made from disk. */
export interface CreatedTorrent extends BuiltTorrent {
  readonly plan: TorrentPlan;
  readonly infoHash: InfoHashes;
}

/**
 * Makes a .torrent from a file or a folder (v1 by default; v2 or hybrid on request), hashing
 * with worker threads on every core. The info dict matches mktorrent's (v1) and libtorrent's
 * (v2, hybrid) for the same input and piece length. Expected failures are coded `BT_CREATE_*`.
 */
export async function createTorrent(
  path: string,
  options: CreateOptions & HashPoolOptions & { readonly name?: string } = {},
): Promise<Result<CreatedTorrent>> {
  const source = await listSource(path);
  if (!source.ok) return source;
  const { singleFile, files } = source.value;
  const name = options.name ?? source.value.name;
  const sources = singleFile ? [{ ...files[0]!, path: [name] }] : files;
  const planned = planFromOptions(name, sources, singleFile, options);
  if (!planned.ok) return planned;
  const plan = planned.value;
  const where = new Map(sources.map((f) => [f.path.join('/'), f.absolutePath]));
  const paths = plan.files.map((f) => (f.pad ? null : where.get(f.path.join('/'))!));
  let hashes: Awaited<ReturnType<typeof hashPlan>>;
  try {
    hashes = await hashPlan(plan, paths, options);
  } catch (cause) {
    if (options.signal?.aborted) return fail('BT_CREATE_ABORTED', 'torrent creation was aborted', cause);
    return fail('BT_CREATE_IO', `hashing failed: ${(cause as Error).message}`, cause);
  }
  const built = await assembleTorrent(plan, hashes, options, nodeHasher);
  const infoHash: InfoHashes = {
    ...(plan.version !== 'v2' ? { v1: asInfoHashV1(sha1Sync(built.infoBytes)) } : {}),
    ...(plan.version !== 'v1' ? { v2: asInfoHashV2(sha256Sync(built.infoBytes)) } : {}),
  };
  return ok({ ...built, plan, infoHash });
}

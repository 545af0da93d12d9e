import { type BDict, type BEncodable, decodeBencode, encodeBencode, isDict } from '../bencode.ts';
import { fail, ok, type Result } from '../errors.ts';
import type { Metainfo } from './model.ts';

/** Keys of a hybrid info dict that only v2 clients read (BEP 52). */
const V2_INFO_KEYS = new Set(['file tree', 'meta version']);

/**
 * A v1-only .torrent for the same content as a hybrid one, for clients that mishandle the v2
 * half (aria2 1.36 drops the empty-string leaf keys of `file tree` when it re-encodes the info
 * dict, so it computes a wrong info-hash and never finds the swarm). The info dict is the
 * hybrid's own v1 half, key for key (`name`, `piece length`, `pieces`, `length` or `files` with
 * the hybrid's BEP 47 pad files, `private`, ...) without `file tree` and `meta version`, so
 * the pieces, their hashes and the byte layout are the same and one copy of the data seeds
 * both. Its info-hash differs: it is a torrent of its own, a second swarm for the same bytes.
 * The top level keeps announce, announce-list, url-list, comment, created by and creation date;
 * `piece layers` go.
 */
export function v1OnlyTorrent(meta: Metainfo): Result<Uint8Array> {
  if (meta.version === 'v2')
    return fail(
      'BT_METAINFO_NOT_HYBRID',
      'a v2-only torrent has no v1 piece hashes; create a hybrid or v1 one',
    );
  const decoded = decodeBencode(meta.infoBytes);
  if (!decoded.ok) return decoded;
  const info = decoded.value.value;
  if (!isDict(info)) return fail('BT_METAINFO_NO_INFO', 'the info dict is not a dictionary');
  const v1: Record<string, BEncodable> = {};
  for (const [key, value] of Object.entries(info as BDict))
    if (!V2_INFO_KEYS.has(key)) v1[key] = value as BEncodable;
  const top: Record<string, BEncodable> = { info: v1 };
  const tiers = meta.announce.filter((t) => t.length > 0);
  if (tiers.length > 0) {
    top.announce = tiers[0]![0]!;
    if (tiers.length > 1 || tiers[0]!.length > 1) top['announce-list'] = tiers;
  }
  if (meta.urlList.length > 0) top['url-list'] = meta.urlList;
  if (meta.comment !== undefined) top.comment = meta.comment;
  if (meta.createdBy !== undefined) top['created by'] = meta.createdBy;
  if (meta.creationDate !== undefined) top['creation date'] = meta.creationDate;
  return ok(encodeBencode(top));
}

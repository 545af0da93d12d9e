import { bytesEqual } from '../bytes.ts';
import { fail, ok, type Result } from '../errors.ts';
import type { Hasher } from '../hasher.ts';
import type { Magnet } from '../magnet.ts';
import type { Metainfo } from '../metainfo/model.ts';
import { parseInfoDict } from '../metainfo/parse.ts';
import type { PeerAddress } from '../transport.ts';
import { truncatedV2 } from '../types.ts';

/** The 20 bytes a magnet's torrent goes by on the wire (btih, else the truncated btmh). */
export function magnetWireHash(m: Magnet): Uint8Array {
  if (m.infoHash.v1) return m.infoHash.v1;
  if (m.infoHash.v2) return truncatedV2(m.infoHash.v2);
  throw new Error('magnet without an info-hash');
}

/**
 * What a MetadataFetcher for this magnet checks the info dict against: SHA-1 and the btih
 * when the magnet has one, else SHA-256 and the full btmh.
 */
export function magnetMetadataCheck(
  m: Magnet,
  hasher: Hasher,
): { infoHash: Uint8Array; expectedHash: Uint8Array; hash: (d: Uint8Array) => Promise<Uint8Array> } {
  if (m.infoHash.v1) return { infoHash: m.infoHash.v1, expectedHash: m.infoHash.v1, hash: hasher.sha1 };
  const v2 = m.infoHash.v2 as Uint8Array;
  return { infoHash: truncatedV2(m.infoHash.v2!), expectedHash: v2, hash: hasher.sha256 };
}

/**
 * The torrent of a magnet link from the info dict peers sent (BEP 9): parsed, checked against
 * every hash the link names (btih and btmh, so a hybrid's v2 half cannot be swapped), with
 * the link's trackers (`tr`, one tier) and web seeds (`ws`). A v2-only torrent whose files
 * span several pieces is refused: its piece layers are not in the info dict and we do not
 * fetch them from peers (BEP 52 hash requests), so no piece of it could be verified.
 */
export async function metainfoFromMagnet(
  m: Magnet,
  infoBytes: Uint8Array,
  hasher: Hasher,
): Promise<Result<Metainfo>> {
  const parsed = await parseInfoDict(infoBytes, hasher);
  if (!parsed.ok) return parsed;
  const meta = parsed.value;
  if (m.infoHash.v1 && !(meta.infoHash.v1 && bytesEqual(meta.infoHash.v1, m.infoHash.v1)))
    return fail('BT_METADATA_HASH_MISMATCH', "the metadata does not hash to the magnet link's btih");
  if (m.infoHash.v2 && !(meta.infoHash.v2 && bytesEqual(meta.infoHash.v2, m.infoHash.v2)))
    return fail('BT_METADATA_HASH_MISMATCH', "the metadata does not hash to the magnet link's btmh");
  if (!meta.pieces && meta.files.some((f) => !f.pad && f.length > meta.pieceLength)) {
    return fail(
      'BT_MAGNET_V2_LAYERS',
      'a v2-only torrent from a magnet link needs piece layers from peers (BEP 52), which is not supported; use the .torrent file',
    );
  }
  return ok({
    ...meta,
    announce: m.trackers.length > 0 ? [m.trackers] : [],
    urlList: m.webSeeds,
  });
}

/** A magnet `x.pe` value ("1.2.3.4:6881", "[::1]:6881", "host:6881"), or undefined. */
export function parsePeerAddress(text: string): PeerAddress | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: (m[1] ?? m[2]) as string, port };
}

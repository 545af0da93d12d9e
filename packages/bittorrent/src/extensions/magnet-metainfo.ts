import { bytesEqual } from '../bytes.ts';
import { fail, ok, type Result } from '../errors.ts';
import type { Hasher } from '../hasher.ts';
import type { Magnet } from '../magnet.ts';
import type { Metainfo } from '../metainfo/model.ts';
import { parseInfoDict } from '../metainfo/parse.ts';
import type { PeerAddress } from '../transport.ts';
import { truncatedV2 } from '../types.ts';
import { missingLayers } from './bep-0052-hashes.ts';

/**
 * What a metadata fetch must also get for this magnet: the piece layers of a v2-only
 * torrent's multi-piece files (a torrent with v1 piece hashes verifies without them).
 */
export function magnetLayerNeeds(m: Magnet, hasher: Hasher) {
  if (m.infoHash.v1) return undefined;
  return {
    hasher,
    async missing(info: Uint8Array) {
      const parsed = await parseInfoDict(info, hasher);
      if (!parsed.ok || parsed.value.pieces) return { files: [], pieceLength: 0 };
      return { files: missingLayers(parsed.value), pieceLength: parsed.value.pieceLength };
    },
  };
}

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
 * the link's trackers (`tr`, one tier) and web seeds (`ws`). A v2-only torrent's piece layers
 * are not in the info dict: `pieceLayers` are those fetched from peers (BEP 52 hash requests,
 * already proven against their roots); one still missing refuses the torrent, since no piece
 * of that file could be verified.
 */
export async function metainfoFromMagnet(
  m: Magnet,
  infoBytes: Uint8Array,
  hasher: Hasher,
  pieceLayers: ReadonlyMap<string, Uint8Array> = new Map(),
): Promise<Result<Metainfo>> {
  const parsed = await parseInfoDict(infoBytes, hasher);
  if (!parsed.ok) return parsed;
  const meta = parsed.value;
  if (m.infoHash.v1 && !(meta.infoHash.v1 && bytesEqual(meta.infoHash.v1, m.infoHash.v1)))
    return fail('BT_METADATA_HASH_MISMATCH', "the metadata does not hash to the magnet link's btih");
  if (m.infoHash.v2 && !(meta.infoHash.v2 && bytesEqual(meta.infoHash.v2, m.infoHash.v2)))
    return fail('BT_METADATA_HASH_MISMATCH', "the metadata does not hash to the magnet link's btmh");
  const layers = new Map([...meta.pieceLayers, ...pieceLayers]);
  if (!meta.pieces && missingLayers({ ...meta, pieceLayers: layers }).length > 0) {
    return fail(
      'BT_MAGNET_V2_LAYERS',
      'no peer sent the piece layers of this v2-only torrent (BEP 52 hash requests); try again when more peers are online, or use the .torrent file',
    );
  }
  return ok({
    ...meta,
    pieceLayers: layers,
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

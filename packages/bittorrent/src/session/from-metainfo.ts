import type { Hasher } from '../hasher.ts';
import type { Metainfo } from '../metainfo/model.ts';
import { verifyPiece } from '../metainfo/verify.ts';
import { makeLayout, type StorageLayout } from '../storage/layout.ts';
import type { PieceIndex } from '../types.ts';
import { truncatedV2 } from '../types.ts';
import type { VerifyPiece } from './piece-verification.ts';

/**
 * The storage layout of a parsed torrent. Paths start with the torrent's name for a
 * multi-file torrent (its folder) and are the name alone for a single file, as every client
 * lays them out.
 */
export function layoutOf(meta: Metainfo): StorageLayout {
  return makeLayout(
    meta.pieceLength,
    meta.files.map((f) => ({
      path: meta.singleFile && !f.pad ? [meta.name] : [meta.name, ...f.path],
      length: f.length,
      pad: f.pad,
    })),
    false,
    // Parsing put pads between the files of a v2-only torrent; libtorrent also pads the last.
    meta.version === 'v2',
  );
}

/** The 20 bytes that name the torrent in handshakes and announces (v1 hash, else truncated v2). */
export function wireInfoHash(meta: Pick<Metainfo, 'infoHash'>): Uint8Array {
  if (meta.infoHash.v1) return meta.infoHash.v1;
  if (meta.infoHash.v2) return truncatedV2(meta.infoHash.v2);
  throw new Error('metainfo without an info-hash');
}

/**
 * Every 20-byte id peers may know the torrent by, the wire hash first: a hybrid torrent is
 * reached by its v1 hash and by its truncated v2 hash (a btmh-only magnet, BEP 52).
 */
export function wireInfoHashes(meta: Pick<Metainfo, 'infoHash'>): Uint8Array[] {
  const out = [wireInfoHash(meta)];
  if (meta.infoHash.v1 && meta.infoHash.v2) out.push(truncatedV2(meta.infoHash.v2));
  return out;
}

/**
 * Piece verification for the session. A v2 piece whose layer is unknown (metadata from a
 * magnet, no piece layers yet) cannot be verified and so never counts.
 */
export function verifierOf(meta: Metainfo, hasher: Hasher): VerifyPiece {
  return async (index, data) => (await verifyPiece(meta, index as PieceIndex, data, hasher)) === true;
}

import { createHash } from 'node:crypto';
import {
  asInfoHashV1,
  type BDict,
  type BEncodable,
  decodeBencode,
  encodeBencode,
  formatMagnet,
  isBytes,
  isDict,
  isInt,
  toHex,
} from '@swarmcast/bittorrent';

/** A v1-only torrent of the same file as a hybrid one (same pieces, another info-hash). */
export interface V1Companion {
  torrent: Uint8Array;
  infoHashV1: string;
  magnet: string;
}

/**
 * The v1-only companion of a single-file hybrid torrent, for legacy clients that mishandle
 * hybrids: aria2 1.36 drops the empty-string key of the v2 `file tree` when it re-encodes
 * the info dict, so it computes a wrong info-hash for every hybrid (from a .torrent and
 * after fetching a magnet's metadata alike) and never finds the swarm. A single file's v1
 * pieces do not depend on the v2 part, so the companion is the hybrid's info dict without
 * `file tree` and `meta version`: no second pass over the data. Its swarm is separate from
 * the hybrid's (another info-hash); the node seeds both from the one file. Trackers and web
 * seeds default to the hybrid's own.
 */
export function v1Companion(
  hybrid: Uint8Array,
  given: { announce?: string[]; webSeeds?: string[] } = {},
): V1Companion {
  const top = decodeBencode(hybrid);
  if (!top.ok) throw new Error(`hybrid torrent: ${top.error.message}`);
  const root = isDict(top.value.value) ? top.value.value : {};
  const info = root.info;
  const text = (v: unknown) => (isBytes(v as never) ? Buffer.from(v as Uint8Array).toString('utf8') : null);
  const list = (v: unknown) => (Array.isArray(v) ? (v as unknown[]) : []);
  const o = {
    announce:
      given.announce ??
      list(root['announce-list'])
        .flatMap((tier) => list(tier).map(text))
        .filter((u): u is string => !!u),
    webSeeds:
      given.webSeeds ??
      (isBytes(root['url-list'])
        ? [text(root['url-list']) as string]
        : list(root['url-list'])
            .map(text)
            .filter((u): u is string => !!u)),
  };
  if (!isDict(info)) throw new Error('hybrid torrent: no info dict');
  const d = info as BDict;
  const { name, length, pieces } = d;
  const pieceLength = d['piece length'];
  if (!isBytes(name) || !isInt(length) || !isBytes(pieces) || !isInt(pieceLength)) {
    throw new Error('hybrid torrent: not a single-file torrent with v1 pieces');
  }
  const v1Info: Record<string, BEncodable> = { length, name, 'piece length': pieceLength, pieces };
  if (isInt(d.private)) v1Info.private = d.private;
  const infoBytes = encodeBencode(v1Info);
  const hash = new Uint8Array(createHash('sha1').update(infoBytes).digest());
  const torrent = encodeBencode({
    ...(o.announce[0] ? { announce: o.announce[0] } : {}),
    ...(o.announce.length ? { 'announce-list': o.announce.map((url) => [url]) } : {}),
    'created by': 'Swarmcast',
    info: v1Info,
    ...(o.webSeeds.length ? { 'url-list': o.webSeeds } : {}),
  });
  return {
    torrent,
    infoHashV1: toHex(hash),
    magnet: formatMagnet({
      infoHash: { v1: asInfoHashV1(hash) },
      name: Buffer.from(name).toString('utf8'),
      length,
      trackers: o.announce,
      webSeeds: o.webSeeds,
      peers: [],
    }),
  };
}

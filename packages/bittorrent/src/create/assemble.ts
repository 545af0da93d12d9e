import { type BEncodable, encodeBencode } from '../bencode.ts';
import { concatBytes, toHex } from '../bytes.ts';
import type { Hasher } from '../hasher.ts';
import { rootFromPieceLayer } from '../merkle.ts';
import type { PieceHashes } from './hash-piece.ts';
import type { TorrentPlan } from './plan.ts';

/** What goes around the info dict, and the flags that go inside it. */
export interface TorrentMeta {
  /** Announce URLs by tier (BEP 12). One URL: `announce` only, as mktorrent writes it. */
  readonly announce?: readonly (readonly string[])[];
  /** Web seeds (BEP 19). */
  readonly webSeeds?: readonly string[];
  /** BEP 27: `private: 1` in the info dict. */
  readonly private?: boolean;
  readonly comment?: string;
  readonly createdBy?: string;
  /** Seconds since the Unix epoch; left out when undefined. */
  readonly creationDate?: number;
}

/** A finished torrent: the whole file and the bytes of its info dict. */
export interface BuiltTorrent {
  readonly torrent: Uint8Array;
  readonly infoBytes: Uint8Array;
}

type Tree = { [key: string]: Tree | BEncodable };

function insert(tree: Tree, path: readonly string[], leaf: BEncodable): void {
  let node = tree;
  for (const c of path) {
    node[c] ??= {};
    node = node[c] as Tree;
  }
  node[''] = leaf;
}

/**
 * Builds the .torrent from a plan and the hashes of every piece. The info dict holds exactly
 * what mktorrent (v1) or libtorrent 2.0 (v2, hybrid) put there, so the info-hashes match theirs.
 */
export async function assembleTorrent(
  plan: TorrentPlan,
  hashes: readonly PieceHashes[],
  meta: TorrentMeta,
  hasher: Hasher,
): Promise<BuiltTorrent> {
  if (hashes.length !== plan.pieceCount)
    throw new RangeError(`${hashes.length} piece hashes for ${plan.pieceCount} pieces`);
  const info: Record<string, BEncodable> = { name: plan.name, 'piece length': plan.pieceLength };
  if (meta.private) info.private = 1;
  const pieceLayers: Record<string, Uint8Array> = {};
  if (plan.version !== 'v1') {
    const tree: Tree = {};
    for (const f of plan.files) {
      if (f.pad) continue;
      if (f.length === 0) {
        insert(tree, f.path, { length: 0 });
        continue;
      }
      const first = f.offset / plan.pieceLength;
      const count = Math.ceil(f.length / plan.pieceLength);
      const layer = hashes.slice(first, first + count).map((h) => h.v2!);
      let root: Uint8Array;
      if (f.length <= plan.pieceLength) root = layer[0]!;
      else {
        root = await rootFromPieceLayer(layer, plan.pieceLength, hasher);
        pieceLayers[toHex(root)] = concatBytes(layer);
      }
      insert(tree, f.path, { length: f.length, 'pieces root': root });
    }
    info['file tree'] = tree as BEncodable;
    info['meta version'] = 2;
  }
  if (plan.version !== 'v2') {
    info.pieces = concatBytes(hashes.map((h) => h.v1!));
    if (plan.singleFile) info.length = plan.files[0]!.length;
    else
      info.files = plan.files.map((f) =>
        f.pad ? { attr: 'p', length: f.length, path: f.path } : { length: f.length, path: f.path },
      );
  }
  const infoBytes = encodeBencode(info);
  const tiers = (meta.announce ?? []).filter((t) => t.length > 0);
  // piece layers are keyed by raw 32-byte roots: build that dict by hand, since JS keys are text
  const top: Record<string, BEncodable | undefined> = {
    announce: tiers[0]?.[0],
    'announce-list': tiers.length > 1 || (tiers[0]?.length ?? 0) > 1 ? tiers : undefined,
    comment: meta.comment,
    'created by': meta.createdBy,
    'creation date': meta.creationDate,
    'url-list':
      meta.webSeeds && meta.webSeeds.length > 0
        ? meta.webSeeds.length === 1
          ? meta.webSeeds[0]
          : meta.webSeeds
        : undefined,
  };
  const layersBytes = encodePieceLayers(pieceLayers);
  const torrent = spliceTop(top, infoBytes, layersBytes);
  return { torrent, infoBytes };
}

const enc = new TextEncoder();

function encodePieceLayers(layers: Record<string, Uint8Array>): Uint8Array | null {
  const roots = Object.keys(layers).sort();
  if (roots.length === 0) return null;
  const parts: Uint8Array[] = [enc.encode('d')];
  for (const hex of roots) {
    const root = new Uint8Array(32);
    for (let i = 0; i < 32; i++) root[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    parts.push(enc.encode('32:'), root, encodeBencode(layers[hex]!));
  }
  parts.push(enc.encode('e'));
  return concatBytes(parts);
}

/** The top-level dict in key order, with the info dict and piece layers spliced in as raw bytes. */
function spliceTop(
  top: Record<string, BEncodable | undefined>,
  info: Uint8Array,
  layers: Uint8Array | null,
): Uint8Array {
  const entries: [string, Uint8Array][] = [['info', info]];
  if (layers) entries.push(['piece layers', layers]);
  for (const [k, v] of Object.entries(top)) if (v !== undefined) entries.push([k, encodeBencode(v)]);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const parts: Uint8Array[] = [enc.encode('d')];
  for (const [k, v] of entries) parts.push(encodeBencode(k), v);
  parts.push(enc.encode('e'));
  return concatBytes(parts);
}

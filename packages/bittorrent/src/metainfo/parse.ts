import { type BDict, decodeBencode, isBytes, isDict, isInt, isList } from '../bencode.ts';
import type { BencodeLimits } from '../bencode-scan.ts';
import { toHex } from '../bytes.ts';
import { fail, ok, type Result } from '../errors.ts';
import type { Hasher } from '../hasher.ts';
import { BLOCK_SIZE, rootFromPieceLayer, splitHashes } from '../merkle.ts';
import { asByteCount, asInfoHashV1, asInfoHashV2, type ByteCount, type InfoHashes } from '../types.ts';
import { alignFiles } from './align.ts';
import {
  asFailure,
  bytesField,
  checkComponent,
  dictField,
  fault,
  intField,
  listOf,
  optionalText,
  text,
} from './fields.ts';
import { type V2File, walkFileTree } from './file-tree.ts';
import type { Metainfo, TorrentFile, TorrentVersion } from './model.ts';

/** Largest piece we accept (libtorrent's limit is 128 MiB for v1; v2 allows more, rarely used). */
const MAX_PIECE_LENGTH = 256 * 1024 * 1024;

interface InfoPart {
  readonly version: TorrentVersion;
  readonly name: string;
  readonly pieceLength: ByteCount;
  readonly pieceCount: number;
  readonly length: ByteCount;
  readonly singleFile: boolean;
  readonly files: readonly TorrentFile[];
  readonly pieces?: Uint8Array;
  readonly private: boolean;
  readonly source?: string;
  readonly v2Files: readonly V2File[];
}

function pathList(v: unknown, where: string): string[] {
  if (!isList(v as never) || (v as unknown[]).length === 0)
    fault('BT_METAINFO_BAD_PATH', `${where}: path must be a non-empty list`);
  return (v as unknown[]).map((c) => {
    if (!isBytes(c as never)) fault('BT_METAINFO_BAD_PATH', `${where}: path components must be byte strings`);
    return checkComponent(text(c as Uint8Array), where);
  });
}

function v1Files(info: BDict, name: string): { files: TorrentFile[]; singleFile: boolean } {
  const hasLength = info.length !== undefined;
  const hasFiles = info.files !== undefined;
  if (hasLength === hasFiles)
    fault('BT_METAINFO_MALFORMED', 'info: exactly one of "length" and "files" is required');
  if (hasLength) {
    const length = intField(info, 'length', 'info');
    if (length < 0) fault('BT_METAINFO_MALFORMED', 'info: negative length');
    return {
      files: [
        {
          path: [name],
          length: asByteCount(length),
          offset: asByteCount(0),
          pad: false,
          attr: optionalText(info, 'attr') ?? '',
        },
      ],
      singleFile: true,
    };
  }
  const list = info.files;
  if (!isList(list) || list.length === 0)
    fault('BT_METAINFO_MALFORMED', 'info: "files" must be a non-empty list');
  const files: TorrentFile[] = [];
  let offset = 0;
  list.forEach((entry, i) => {
    const where = `info.files[${i}]`;
    if (!isDict(entry)) fault('BT_METAINFO_MALFORMED', `${where} must be a dictionary`);
    const length = intField(entry, 'length', where);
    if (length < 0) fault('BT_METAINFO_MALFORMED', `${where}: negative length`);
    const path = pathList(entry['path.utf-8'] ?? entry.path, where);
    const attr = optionalText(entry, 'attr') ?? '';
    const symlink = entry['symlink path'];
    const file: TorrentFile = {
      path,
      length: asByteCount(length),
      offset: asByteCount(offset),
      pad: attr.includes('p'),
      attr,
      ...(isList(symlink) ? { symlinkPath: pathList(symlink, `${where}.symlink path`) } : {}),
    };
    files.push(file);
    offset += length;
    if (!Number.isSafeInteger(offset)) fault('BT_METAINFO_MALFORMED', 'total length out of range');
  });
  return { files, singleFile: false };
}

/** Lays v2 files out one after another, each starting on a piece boundary (synthesised pads). */
function v2Layout(v2: readonly V2File[], pieceLength: number): TorrentFile[] {
  return alignFiles(v2, pieceLength, (i, n) => i < n - 1);
}

function sameFiles(v1: readonly TorrentFile[], v2: readonly V2File[]): boolean {
  const real = v1.filter((f) => !f.pad);
  if (real.length !== v2.length) return false;
  return real.every((f, i) => f.length === v2[i]!.length && f.path.join('/') === v2[i]!.path.join('/'));
}

function readInfo(info: BDict): InfoPart {
  const name = optionalText(info, 'name.utf-8') ?? text(bytesField(info, 'name', 'info'));
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    fault('BT_METAINFO_BAD_PATH', `info: unsafe name ${JSON.stringify(name)}`);
  }
  const pieceLength = intField(info, 'piece length', 'info');
  if (pieceLength <= 0 || pieceLength > MAX_PIECE_LENGTH)
    fault('BT_METAINFO_BAD_PIECE_LENGTH', `piece length ${pieceLength} out of range`);
  const metaVersion = info['meta version'];
  const isV2 = metaVersion !== undefined;
  if (isV2 && metaVersion !== 2)
    fault('BT_METAINFO_UNSUPPORTED_VERSION', `meta version ${String(metaVersion)} is not supported`);
  const hasV1 = info.pieces !== undefined;
  if (!isV2 && !hasV1) fault('BT_METAINFO_MALFORMED', 'info: "pieces" is required');
  if (isV2 && (pieceLength < BLOCK_SIZE || (pieceLength & (pieceLength - 1)) !== 0)) {
    fault('BT_METAINFO_BAD_PIECE_LENGTH', `v2 piece length ${pieceLength} must be a power of two >= 16 KiB`);
  }
  const version: TorrentVersion = isV2 ? (hasV1 ? 'hybrid' : 'v2') : 'v1';
  const v2Files = isV2 ? walkFileTree(dictField(info, 'file tree', 'info')) : [];
  let files: TorrentFile[];
  let singleFile: boolean;
  if (hasV1) {
    ({ files, singleFile } = v1Files(info, name));
    if (isV2 && !sameFiles(files, v2Files))
      fault('BT_METAINFO_HYBRID_MISMATCH', 'the v1 file list and the v2 file tree differ');
    if (isV2) {
      const roots = new Map(v2Files.map((v) => [v.path.join('/'), v.piecesRoot]));
      files = files.map((f) => {
        const piecesRoot = f.pad ? undefined : roots.get(f.path.join('/'));
        return piecesRoot ? { ...f, piecesRoot } : f;
      });
    }
  } else {
    files = v2Layout(v2Files, pieceLength);
    singleFile = v2Files.length === 1 && v2Files[0]!.path.length === 1 && v2Files[0]!.path[0] === name;
  }
  const last = files[files.length - 1];
  const length = last ? last.offset + last.length : 0;
  const pieceCount = Math.ceil(length / pieceLength);
  let pieces: Uint8Array | undefined;
  if (hasV1) {
    pieces = bytesField(info, 'pieces', 'info');
    if (pieces.length !== pieceCount * 20) {
      fault('BT_METAINFO_BAD_PIECES', `"pieces" holds ${pieces.length / 20} hashes for ${pieceCount} pieces`);
    }
  }
  const source = optionalText(info, 'source');
  return {
    version,
    name,
    pieceLength: asByteCount(pieceLength),
    pieceCount,
    length: asByteCount(length),
    singleFile,
    files,
    ...(pieces ? { pieces } : {}),
    private: info.private === 1,
    ...(source !== undefined ? { source } : {}),
    v2Files,
  };
}

function urlList(v: unknown): string[] {
  if (isBytes(v as never)) return [text(v as Uint8Array)].filter((u) => u !== '');
  return listOf(v as never).flatMap((u) => (isBytes(u) && u.length > 0 ? [text(u)] : []));
}

function announceTiers(top: BDict): string[][] {
  const tiers = listOf(top['announce-list'])
    .map((tier) => listOf(tier).flatMap((u) => (isBytes(u) && u.length > 0 ? [text(u)] : [])))
    .filter((tier) => tier.length > 0);
  if (tiers.length > 0) return tiers;
  const single = top.announce;
  return isBytes(single) && single.length > 0 ? [[text(single)]] : [];
}

async function checkPieceLayers(
  part: InfoPart,
  layersValue: unknown,
  hasher: Hasher,
): Promise<Map<string, Uint8Array>> {
  const layers = new Map<string, Uint8Array>();
  if (part.version === 'v1' || layersValue === undefined) return layers;
  if (!isDict(layersValue as never))
    fault('BT_METAINFO_BAD_PIECE_LAYER', '"piece layers" must be a dictionary');
  const byRoot = new Map<string, number>();
  for (const f of part.v2Files)
    if (f.piecesRoot && f.length > part.pieceLength) byRoot.set(toHex(f.piecesRoot), f.length);
  // the decoder keyed non-UTF-8 keys by their hex; binary roots arrive that way
  for (const [key, value] of Object.entries(layersValue as BDict)) {
    const rootHex = key.length === 64 && /^[0-9a-f]+$/.test(key) ? key : toHex(new TextEncoder().encode(key));
    const fileLength = byRoot.get(rootHex);
    if (fileLength === undefined) continue; // a layer for no file of ours: ignored, as libtorrent does
    if (!isBytes(value) || value.length !== Math.ceil(fileLength / part.pieceLength) * 32) {
      fault('BT_METAINFO_BAD_PIECE_LAYER', `piece layer of ${rootHex} has the wrong size`);
    }
    const root = await rootFromPieceLayer(splitHashes(value), part.pieceLength, hasher);
    if (toHex(root) !== rootHex)
      fault('BT_METAINFO_BAD_PIECE_LAYER', `piece layer of ${rootHex} does not hash to its root`);
    layers.set(rootHex, value);
  }
  return layers;
}

async function build(infoBytes: Uint8Array, info: BDict, top: BDict, hasher: Hasher): Promise<Metainfo> {
  const part = readInfo(info);
  const pieceLayers = await checkPieceLayers(part, top['piece layers'], hasher);
  const infoHash: InfoHashes = {
    ...(part.version !== 'v2' ? { v1: asInfoHashV1(await hasher.sha1(infoBytes)) } : {}),
    ...(part.version !== 'v1' ? { v2: asInfoHashV2(await hasher.sha256(infoBytes)) } : {}),
  };
  const { v2Files: _v2, ...rest } = part;
  const comment = optionalText(top, 'comment.utf-8') ?? optionalText(top, 'comment');
  const createdBy = optionalText(top, 'created by');
  const creationDate = top['creation date'];
  return {
    ...rest,
    infoHash,
    infoBytes,
    pieceLayers,
    announce: announceTiers(top),
    urlList: urlList(top['url-list']),
    ...(comment !== undefined ? { comment } : {}),
    ...(createdBy !== undefined ? { createdBy } : {}),
    ...(isInt(creationDate) ? { creationDate } : {}),
  };
}

/**
 * Parses and validates a .torrent file (v1, v2 or hybrid). Never throws on bad input: every
 * problem is a coded error. The info-hash covers the original bytes of the info dict, so a
 * torrent whose encoder was not canonical hashes as libtorrent hashes it.
 */
export async function parseTorrent(
  bytes: Uint8Array,
  hasher: Hasher,
  limits?: BencodeLimits,
): Promise<Result<Metainfo>> {
  const decoded = decodeBencode(bytes, limits);
  if (!decoded.ok) return decoded;
  const top = decoded.value.value;
  if (!isDict(top)) return fail('BT_METAINFO_MALFORMED', 'a .torrent must be a dictionary');
  const span = decoded.value.report.topLevel.get('info');
  const info = top.info;
  if (!span || !isDict(info)) return fail('BT_METAINFO_NO_INFO', 'the torrent has no "info" dictionary');
  try {
    return ok(await build(bytes.slice(span.start, span.end), info, top, hasher));
  } catch (err) {
    return asFailure(err);
  }
}

/**
 * Parses a bare info dict (as received by BEP 9 metadata exchange). The caller must check
 * the resulting info-hash against the one it asked for.
 */
export async function parseInfoDict(
  infoBytes: Uint8Array,
  hasher: Hasher,
  limits?: BencodeLimits,
): Promise<Result<Metainfo>> {
  const decoded = decodeBencode(infoBytes, limits);
  if (!decoded.ok) return decoded;
  const info = decoded.value.value;
  if (!isDict(info)) return fail('BT_METAINFO_NO_INFO', 'the info dict is not a dictionary');
  try {
    return ok(await build(infoBytes.slice(), info, {}, hasher));
  } catch (err) {
    return asFailure(err);
  }
}

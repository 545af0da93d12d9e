import { bytesEqual, toHex } from '../bytes.ts';
import { fail, ok, type Result } from '../errors.ts';
import type { Hasher } from '../hasher.ts';
import { BLOCK_SIZE, nextPowerOfTwo, padHash, splitHashes } from '../merkle.ts';
import type { Metainfo } from '../metainfo/model.ts';

/**
 * BEP 52 hash exchange: `hash request` (21), `hashes` (22), `hash reject` (23). A peer that
 * has only a v2 torrent's info dict (a bare btmh magnet) has each file's `pieces root` but not
 * its piece layer, so it cannot verify any piece of a file longer than one piece; it asks
 * peers for the layer, with the uncle hashes that prove it against the root.
 *
 * We serve and request the piece layer only (the BEP requires leaf and piece layers; leaf
 * hashes serve block-level blame, which our whole-piece verification does not use), and we
 * answer only from piece layers we hold whole (from the .torrent or fetched and verified).
 */

/** The 48-byte body of a hash request (and of a hash reject, which repeats it). */
export interface HashRequest {
  /** The file's merkle root (32 bytes). */
  readonly root: Uint8Array;
  /** Layers above the 16 KiB leaves: 0 = leaf hashes, log2(piece length / 16 KiB) = piece layer. */
  readonly baseLayer: number;
  /** Offset of the first hash in the base layer; a multiple of `length`. */
  readonly index: number;
  /** Hashes wanted from the base layer: a power of two >= 2 (or cut by the layer's end). */
  readonly length: number;
  /** Ancestor layers to prove the hashes with (the first log2(length) - 1 of them are implied). */
  readonly proofLayers: number;
}

export const HASH_REQUEST_SIZE = 48;
/** BEP 52: length SHOULD NOT exceed 512; we refuse more, so one request is bounded work. */
export const MAX_HASH_REQUEST_LENGTH = 512;

export function encodeHashRequest(r: HashRequest): Uint8Array {
  const out = new Uint8Array(HASH_REQUEST_SIZE);
  out.set(r.root, 0);
  const view = new DataView(out.buffer);
  view.setUint32(32, r.baseLayer);
  view.setUint32(36, r.index);
  view.setUint32(40, r.length);
  view.setUint32(44, r.proofLayers);
  return out;
}

function readRequest(payload: Uint8Array): HashRequest {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  return {
    root: payload.slice(0, 32),
    baseLayer: view.getUint32(32),
    index: view.getUint32(36),
    length: view.getUint32(40),
    proofLayers: view.getUint32(44),
  };
}

/** A hash request or hash reject body: exactly 48 bytes. */
export function decodeHashRequest(payload: Uint8Array): Result<HashRequest> {
  if (payload.length !== HASH_REQUEST_SIZE)
    return fail('BT_WIRE_BAD_HASH_MESSAGE', `hash request of ${payload.length} bytes, not 48`);
  return ok(readRequest(payload));
}

/** A hashes body: the request's 48 bytes, then whole 32-byte hashes. */
export function decodeHashes(payload: Uint8Array): Result<{ request: HashRequest; hashes: Uint8Array[] }> {
  if (payload.length < HASH_REQUEST_SIZE || (payload.length - HASH_REQUEST_SIZE) % 32 !== 0)
    return fail('BT_WIRE_BAD_HASH_MESSAGE', `hashes message of ${payload.length} bytes`);
  return ok({
    request: readRequest(payload),
    hashes: splitHashes(payload.slice(HASH_REQUEST_SIZE)),
  });
}

export function encodeHashes(r: HashRequest, hashes: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(HASH_REQUEST_SIZE + 32 * hashes.length);
  out.set(encodeHashRequest(r), 0);
  for (const [i, h] of hashes.entries()) out.set(h, HASH_REQUEST_SIZE + 32 * i);
  return out;
}

/** The layer index of a torrent's piece layer (16 KiB pieces: 0, the leaves themselves). */
export function pieceLayerOf(pieceLength: number): number {
  return Math.log2(pieceLength / BLOCK_SIZE);
}

const log2 = (n: number) => Math.round(Math.log2(n));

/** Uncle hashes a `hashes` answer carries for `r`: the first log2(length) - 1 proof layers are implied. */
export function unclesIn(r: Pick<HashRequest, 'length' | 'proofLayers'>): number {
  return Math.max(0, r.proofLayers - Math.max(0, log2(nextPowerOfTwo(r.length)) - 1));
}

/**
 * A file's merkle tree from its piece layer up to the root, every level kept (a few hundred
 * KiB for a file of a million pieces), for answering requests. Level 0 is the piece layer,
 * padded to a power of two with the hash of an all-zero piece.
 */
export class PieceLayerTree {
  private constructor(
    readonly pieceCount: number,
    private readonly levels: readonly (readonly Uint8Array[])[],
  ) {}

  static async build(layer: Uint8Array, pieceLength: number, hasher: Hasher): Promise<PieceLayerTree> {
    const hashes = splitHashes(layer);
    const width = nextPowerOfTwo(Math.max(1, hashes.length));
    let pad = await padHash(pieceLength / BLOCK_SIZE, hasher);
    let level: Uint8Array[] = hashes.slice();
    while (level.length < width) level.push(pad);
    const levels: Uint8Array[][] = [level];
    while (level.length > 1) {
      const next: Uint8Array[] = [];
      for (let i = 0; i < level.length; i += 2) next.push(await hashPair(level[i]!, level[i + 1]!, hasher));
      level = next;
      levels.push(level);
      pad = await hashPair(pad, pad, hasher);
    }
    return new PieceLayerTree(hashes.length, levels);
  }

  get root(): Uint8Array {
    return this.levels[this.levels.length - 1]![0]!;
  }

  /** Levels above the piece layer up to the root (log2 of the padded width). */
  get height(): number {
    return this.levels.length - 1;
  }

  /**
   * The hashes answering `r` (base hashes, then uncles from the lowest up), or undefined when
   * it cannot be answered: not the piece layer, a misaligned or oversized range, more proof
   * layers than the tree has.
   */
  answer(r: HashRequest, pieceLayer: number): Uint8Array[] | undefined {
    if (r.baseLayer !== pieceLayer) return undefined;
    const width = this.levels[0]!.length;
    const n = r.length;
    if (n < 1 || n > MAX_HASH_REQUEST_LENGTH || r.index % nextPowerOfTwo(n) !== 0) return undefined;
    if (n < 2 && width >= 2) return undefined;
    if (r.index + n > width || r.proofLayers > this.height) return undefined;
    const out = this.levels[0]!.slice(r.index, r.index + n);
    // The subtree of the requested run tops out at level log2(n); above it, one uncle a level.
    let level = log2(nextPowerOfTwo(n));
    let pos = r.index >> level;
    for (let k = 0; k < unclesIn(r) && level < this.height; k++, level++, pos >>= 1)
      out.push(this.levels[level]![pos ^ 1]!);
    return out;
  }
}

async function hashPair(a: Uint8Array, b: Uint8Array, hasher: Hasher): Promise<Uint8Array> {
  const both = new Uint8Array(64);
  both.set(a, 0);
  both.set(b, 32);
  return hasher.sha256(both);
}

/** A v2 file whose piece layer is not in the info dict: its root and how many pieces it has. */
export interface MissingLayer {
  readonly root: Uint8Array;
  readonly pieceCount: number;
}

/** The files of a v2 torrent longer than one piece whose piece layer is not known yet. */
export function missingLayers(meta: Pick<Metainfo, 'files' | 'pieceLength' | 'pieceLayers'>): MissingLayer[] {
  const seen = new Set<string>();
  const out: MissingLayer[] = [];
  for (const f of meta.files) {
    if (f.pad || !f.piecesRoot || f.length <= meta.pieceLength) continue;
    const key = toHex(f.piecesRoot);
    if (meta.pieceLayers.has(key) || seen.has(key)) continue;
    seen.add(key);
    out.push({ root: f.piecesRoot, pieceCount: Math.ceil(f.length / meta.pieceLength) });
  }
  return out;
}

/**
 * The requests that fetch a file's whole piece layer: runs of up to 512 hashes, each with
 * the proof layers that carry it to the root.
 */
export function layerRequests(file: MissingLayer, pieceLength: number): HashRequest[] {
  const width = nextPowerOfTwo(file.pieceCount);
  const length = Math.min(MAX_HASH_REQUEST_LENGTH, width);
  const proofLayers = Math.max(0, log2(width) - 1);
  const out: HashRequest[] = [];
  for (let index = 0; index < file.pieceCount; index += length)
    out.push({ root: file.root, baseLayer: pieceLayerOf(pieceLength), index, length, proofLayers });
  return out;
}

/**
 * Checks a `hashes` answer to one of our {@link layerRequests}: the base hashes and uncles
 * must fold up to the file's root. Returns the base hashes (padding included).
 */
export async function verifyHashes(
  file: MissingLayer,
  sent: HashRequest,
  hashes: readonly Uint8Array[],
  hasher: Hasher,
): Promise<Result<Uint8Array[]>> {
  const width = nextPowerOfTwo(file.pieceCount);
  const n = sent.length;
  const uncles = unclesIn(sent);
  const height = log2(width);
  const needed = Math.min(uncles, height - log2(n));
  if (hashes.length !== n + needed)
    return fail('BT_PEER_BAD_HASHES', `hashes answer with ${hashes.length} hashes, expected ${n + needed}`);
  let level = hashes.slice(0, n);
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(await hashPair(level[i]!, level[i + 1]!, hasher));
    level = next;
  }
  let node = level[0]!;
  let pos = sent.index / n;
  for (let k = 0; k < needed; k++, pos >>= 1) {
    const uncle = hashes[n + k]!;
    node = pos % 2 === 0 ? await hashPair(node, uncle, hasher) : await hashPair(uncle, node, hasher);
  }
  if (!bytesEqual(node, file.root))
    return fail('BT_PEER_BAD_HASHES', 'hashes do not prove up to the file root');
  return ok(hashes.slice(0, n));
}

/** Joins verified runs into the piece layer as a .torrent stores it (real pieces only). */
export function joinLayer(file: MissingLayer, runs: ReadonlyMap<number, readonly Uint8Array[]>): Uint8Array {
  const out = new Uint8Array(file.pieceCount * 32);
  for (const [index, hashes] of runs)
    for (const [i, h] of hashes.entries()) if (index + i < file.pieceCount) out.set(h, (index + i) * 32);
  return out;
}

/** What to send back for a hash request. */
export interface HashAnswer {
  readonly type: 'hashes' | 'hash-reject';
  readonly payload: Uint8Array;
}

/**
 * Answers hash requests from the piece layers of a torrent we hold (each file's tree built
 * on first use and kept). Anything we cannot answer is rejected, as BEP 52 requires.
 */
export class HashServer {
  private readonly trees = new Map<string, Promise<PieceLayerTree>>();

  constructor(
    private readonly meta: Pick<Metainfo, 'pieceLength' | 'pieceLayers'>,
    private readonly hasher: Hasher,
  ) {}

  /** The answer to a 48-byte request body; undefined when the body is malformed. */
  async answer(payload: Uint8Array): Promise<HashAnswer | undefined> {
    const r = decodeHashRequest(payload);
    if (!r.ok) return undefined;
    const reject: HashAnswer = { type: 'hash-reject', payload: payload.slice() };
    const key = toHex(r.value.root);
    const layer = this.meta.pieceLayers.get(key);
    if (!layer) return reject;
    let tree = this.trees.get(key);
    if (!tree) {
      tree = PieceLayerTree.build(layer, this.meta.pieceLength, this.hasher);
      this.trees.set(key, tree);
    }
    const hashes = (await tree).answer(r.value, pieceLayerOf(this.meta.pieceLength));
    return hashes ? { type: 'hashes', payload: encodeHashes(r.value, hashes) } : reject;
  }
}

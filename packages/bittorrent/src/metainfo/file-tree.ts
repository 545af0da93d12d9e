import { type BDict, isBytes, isDict, isInt } from '../bencode.ts';
import { checkComponent, fault, optionalText } from './fields.ts';

/** A file of a BEP 52 file tree, in tree order. */
export interface V2File {
  readonly path: readonly string[];
  readonly length: number;
  readonly attr: string;
  readonly piecesRoot?: Uint8Array;
}

const encoder = new TextEncoder();

/** Keys in bencode order (raw bytes), whatever order the JS object enumerates them in. */
function byteOrder(keys: string[]): string[] {
  const encoded = keys.map((k) => ({ k, b: encoder.encode(k) }));
  encoded.sort((x, y) => {
    const n = Math.min(x.b.length, y.b.length);
    for (let i = 0; i < n; i++) if (x.b[i] !== y.b[i]) return x.b[i]! - y.b[i]!;
    return x.b.length - y.b.length;
  });
  return encoded.map((e) => e.k);
}

const MAX_FILES = 1_000_000;

/** Flattens a BEP 52 `file tree` (iteratively, depth already bounded by the decoder). */
export function walkFileTree(tree: BDict): V2File[] {
  const out: V2File[] = [];
  const walk = (node: BDict, prefix: string[]): void => {
    for (const key of byteOrder(Object.keys(node))) {
      const child = node[key];
      if (!isDict(child))
        fault('BT_METAINFO_BAD_FILE_TREE', `file tree entry ${JSON.stringify(key)} is not a dictionary`);
      if (key === '') {
        if (prefix.length === 0)
          fault('BT_METAINFO_BAD_FILE_TREE', 'a file at the root of the file tree has no name');
        out.push(leaf(child, prefix));
        if (out.length > MAX_FILES) fault('BT_METAINFO_BAD_FILE_TREE', 'too many files');
        continue;
      }
      const path = [...prefix, checkComponent(key, 'file tree')];
      const keys = Object.keys(child);
      if (keys.includes('') && keys.length > 1)
        fault('BT_METAINFO_BAD_FILE_TREE', `${path.join('/')} is both a file and a folder`);
      if (keys.length === 0) fault('BT_METAINFO_BAD_FILE_TREE', `${path.join('/')} is empty`);
      walk(child, path);
    }
  };
  walk(tree, []);
  if (out.length === 0) fault('BT_METAINFO_BAD_FILE_TREE', 'the file tree holds no file');
  return out;
}

function leaf(d: BDict, path: string[]): V2File {
  const where = path.join('/');
  const length = d.length;
  if (!isInt(length) || length < 0) fault('BT_METAINFO_BAD_FILE_TREE', `${where}: bad length`);
  const root = d['pieces root'];
  if (length > 0 && (!isBytes(root) || root.length !== 32)) {
    fault('BT_METAINFO_BAD_FILE_TREE', `${where}: "pieces root" must be 32 bytes`);
  }
  const attr = optionalText(d, 'attr') ?? '';
  return { path, length, attr, ...(length > 0 && isBytes(root) ? { piecesRoot: root } : {}) };
}

import { type BDict, type BValue, isBytes, isDict, isInt, isList } from '../bencode.ts';
import { type BtErrorCode, fail } from '../errors.ts';

/** Thrown inside the metainfo parser only, caught at its entry and turned into a Result. */
export class MetainfoFault extends Error {
  constructor(
    readonly code: BtErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function fault(code: BtErrorCode, message: string): never {
  throw new MetainfoFault(code, message);
}

export function asFailure(err: unknown) {
  if (err instanceof MetainfoFault) return fail(err.code, err.message);
  throw err;
}

const lossy = new TextDecoder('utf-8');
const strict = new TextDecoder('utf-8', { fatal: true });

/** Text of a byte string: UTF-8, or replacement characters where it is not. */
export function text(bytes: Uint8Array): string {
  try {
    return strict.decode(bytes);
  } catch {
    return lossy.decode(bytes);
  }
}

export function dictField(d: BDict, key: string, where: string): BDict {
  const v = d[key];
  if (!isDict(v)) fault('BT_METAINFO_MALFORMED', `${where}: "${key}" must be a dictionary`);
  return v;
}

export function intField(d: BDict, key: string, where: string): number {
  const v = d[key];
  if (!isInt(v)) fault('BT_METAINFO_MALFORMED', `${where}: "${key}" must be an integer`);
  return v;
}

export function bytesField(d: BDict, key: string, where: string): Uint8Array {
  const v = d[key];
  if (!isBytes(v)) fault('BT_METAINFO_MALFORMED', `${where}: "${key}" must be a byte string`);
  return v;
}

export function optionalText(d: BDict, key: string): string | undefined {
  const v = d[key];
  return isBytes(v) ? text(v) : undefined;
}

export function listOf(v: BValue | undefined): readonly BValue[] {
  return isList(v) ? v : [];
}

/** A path component must not escape the torrent's folder or carry separators. */
export function checkComponent(c: string, where: string): string {
  if (c === '' || c === '.' || c === '..' || /[/\\\0]/.test(c)) {
    fault('BT_METAINFO_BAD_PATH', `${where}: unsafe path component ${JSON.stringify(c)}`);
  }
  return c;
}

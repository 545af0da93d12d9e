import bencode from 'bencode';
import { type BencodeLimits, defaultBencodeLimits, type ScanReport, scanBencode } from './bencode-scan.ts';
import { fail, ok, type Result } from './errors.ts';

export {
  type BencodeLimits,
  defaultBencodeLimits,
  type ScanReport,
  type Span,
  scanBencode,
} from './bencode-scan.ts';

/** A decoded bencode value: byte strings stay bytes; dict keys are (UTF-8) strings. */
export type BValue = number | Uint8Array | readonly BValue[] | BDict;
export interface BDict {
  readonly [key: string]: BValue;
}

/** A decoded value with what the scan learned (raw spans of top-level values, canonical form). */
export interface Decoded {
  readonly value: BValue;
  readonly report: ScanReport;
}

/**
 * Decodes a whole bencoded document from outside: never throws; a malformed, oversized or
 * too-deep input (or trailing bytes) is a coded error. The `bencode` library builds the
 * value once our strict, iterative scan has accepted the bytes.
 */
export function decodeBencode(
  bytes: Uint8Array,
  limits: BencodeLimits = defaultBencodeLimits,
): Result<Decoded> {
  const prefix = decodeBencodePrefix(bytes, limits);
  if (!prefix.ok) return prefix;
  if (prefix.value.report.end !== bytes.length) {
    return fail('BT_BENCODE_TRAILING', `${bytes.length - prefix.value.report.end} bytes after the value`);
  }
  return prefix;
}

/**
 * Decodes the first bencoded value of `bytes` and reports where it ends (for messages
 * that carry raw bytes after a bencoded header, such as BEP 9 metadata pieces).
 */
export function decodeBencodePrefix(
  bytes: Uint8Array,
  limits: BencodeLimits = defaultBencodeLimits,
): Result<Decoded> {
  const scan = scanBencode(bytes, limits);
  if (!scan.ok) return scan;
  try {
    const value = bencode.decode(bytes, 0, scan.value.end) as BValue;
    return ok({ value, report: scan.value });
  } catch (cause) {
    // unreachable for input the scan accepted; kept so that a library change cannot crash us
    return fail('BT_BENCODE_MALFORMED', 'the bencode library rejected the input', cause);
  }
}

/** A value we may encode: numbers must be safe integers; dict keys are sorted on output. */
export type BEncodable =
  | number
  | string
  | Uint8Array
  | readonly BEncodable[]
  | { readonly [key: string]: BEncodable | undefined };

/** Canonical bencode of a value (keys sorted, undefined entries left out). */
export function encodeBencode(value: BEncodable): Uint8Array {
  return bencode.encode(value);
}

export function isDict(v: BValue | undefined): v is BDict {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v);
}

export function isList(v: BValue | undefined): v is readonly BValue[] {
  return Array.isArray(v);
}

export function isBytes(v: BValue | undefined): v is Uint8Array {
  return v instanceof Uint8Array;
}

export function isInt(v: BValue | undefined): v is number {
  return typeof v === 'number';
}

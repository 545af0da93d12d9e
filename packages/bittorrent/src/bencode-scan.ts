import { compareBytes, toHex } from './bytes.ts';
import { type BtError, fail, ok, type Result } from './errors.ts';

/** Bounds on untrusted bencode; the defaults suit .torrent files and tracker replies. */
export interface BencodeLimits {
  /** Largest input accepted, in bytes. */
  readonly maxBytes: number;
  /** Deepest nesting of lists and dicts. */
  readonly maxDepth: number;
  /** Most values (of any kind) in one document. */
  readonly maxItems: number;
}

export const defaultBencodeLimits: BencodeLimits = {
  maxBytes: 32 * 1024 * 1024,
  maxDepth: 100,
  maxItems: 2_000_000,
};

/** Byte offsets [start, end) of a value inside the document it was read from. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/** What a scan learned besides "it is valid". */
export interface ScanReport {
  /** Offset just past the first complete value. */
  readonly end: number;
  /** False when some dict has keys out of order or repeated (still accepted; hashes use raw bytes). */
  readonly canonical: boolean;
  /** When the document is a dict: the raw span of each top-level value, by key. */
  readonly topLevel: ReadonlyMap<string, Span>;
}

const D = 0x64;
const L = 0x6c;
const I = 0x69;
const E = 0x65;
const COLON = 0x3a;
const MINUS = 0x2d;

const keyDecoder = new TextDecoder('utf-8', { fatal: true });

interface Frame {
  kind: 'd' | 'l';
  /** dicts: true when the next value is a key */
  wantKey: boolean;
  lastKey: Uint8Array | null;
  keys: Set<string> | null;
}

function bad(message: string, at: number): { ok: false; error: BtError } {
  return fail('BT_BENCODE_MALFORMED', `${message} at byte ${at}`);
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/**
 * Validates one bencoded value at the start of `bytes` without building it: iterative (a
 * hostile depth cannot overflow the stack), strict (no leading zeros, no "-0", lengths
 * within the input, integers within 2^53), bounded by `limits`. Non-UTF-8 dict keys are keyed by their hex, as the bencode library does.
 * Records the raw span of each top-level dict value, so that an info-hash is computed over
 * the original bytes even when the encoder was not canonical (as libtorrent does).
 */
export function scanBencode(
  bytes: Uint8Array,
  limits: BencodeLimits = defaultBencodeLimits,
): Result<ScanReport> {
  if (bytes.length > limits.maxBytes) {
    return fail('BT_BENCODE_TOO_LARGE', `input is ${bytes.length} bytes, the limit is ${limits.maxBytes}`);
  }
  if (bytes.length === 0) return bad('empty input', 0);
  const stack: Frame[] = [];
  const topLevel = new Map<string, Span>();
  let topKey: string | null = null;
  let topStart = 0;
  let canonical = true;
  let items = 0;
  let pos = 0;
  for (;;) {
    const frame = stack[stack.length - 1];
    const c = bytes[pos];
    if (c === undefined) return bad('unexpected end of input', pos);
    if (frame && c === E) {
      if (frame.kind === 'd' && !frame.wantKey) return bad('dict key without a value', pos);
      stack.pop();
      pos++;
    } else {
      if (++items > limits.maxItems)
        return fail('BT_BENCODE_TOO_LARGE', `more than ${limits.maxItems} values`);
      const start = pos;
      const isKey = frame?.kind === 'd' && frame.wantKey;
      if (isKey && !isDigit(c)) return bad('dict key is not a string', pos);
      if (c === D || c === L) {
        if (stack.length >= limits.maxDepth) {
          return fail('BT_BENCODE_TOO_DEEP', `nesting deeper than ${limits.maxDepth} at byte ${pos}`);
        }
        if (stack.length === 1 && frame?.kind === 'd') topStart = start;
        stack.push({
          kind: c === D ? 'd' : 'l',
          wantKey: c === D,
          lastKey: null,
          keys: c === D ? new Set() : null,
        });
        pos++;
        if (frame?.kind === 'd') frame.wantKey = true;
        continue;
      }
      if (c === I) {
        pos++;
        const negative = bytes[pos] === MINUS;
        if (negative) pos++;
        const digitsStart = pos;
        while (isDigit(bytes[pos])) pos++;
        const digits = pos - digitsStart;
        if (digits === 0) return bad('integer without digits', start);
        if (bytes[pos] !== E) return bad('integer not terminated by "e"', pos);
        if (digits > 1 && bytes[digitsStart] === 0x30) return bad('integer with a leading zero', start);
        if (negative && digits === 1 && bytes[digitsStart] === 0x30) return bad('negative zero', start);
        if (digits > 16) return bad('integer out of range', start);
        let value = 0;
        for (let k = digitsStart; k < pos; k++) value = value * 10 + (bytes[k]! - 0x30);
        if (!Number.isSafeInteger(value)) return bad('integer out of range', start);
        pos++;
      } else if (isDigit(c)) {
        const lenStart = pos;
        while (isDigit(bytes[pos])) pos++;
        if (bytes[pos] !== COLON) return bad('string length not followed by ":"', pos);
        if (pos - lenStart > 1 && bytes[lenStart] === 0x30)
          return bad('string length with a leading zero', lenStart);
        if (pos - lenStart > 16) return bad('string length out of range', lenStart);
        let length = 0;
        for (let k = lenStart; k < pos; k++) length = length * 10 + (bytes[k]! - 0x30);
        pos++;
        if (length > bytes.length - pos) return bad(`string of ${length} bytes runs past the end`, lenStart);
        if (isKey && frame) {
          const key = bytes.subarray(pos, pos + length);
          // the bencode library keys a non-UTF-8 key (a v2 piece-layer root) by its hex
          let text: string;
          try {
            text = keyDecoder.decode(key);
          } catch {
            text = toHex(key);
          }
          if (text === '__proto__') return fail('BT_BENCODE_BAD_KEY', `dict key "__proto__" at byte ${pos}`);
          if (frame.keys?.has(text) || (frame.lastKey && compareBytes(frame.lastKey, key) >= 0))
            canonical = false;
          frame.keys?.add(text);
          frame.lastKey = key;
          if (stack.length === 1) topKey = text;
          pos += length;
          frame.wantKey = false;
          continue;
        }
        pos += length;
      } else {
        return bad(`unexpected byte 0x${c.toString(16)}`, pos);
      }
      if (frame?.kind === 'd') {
        frame.wantKey = true;
        if (stack.length === 1 && topKey !== null) topLevel.set(topKey, { start, end: pos });
      }
    }
    // a container just closed, or a scalar ended at the top: either finishes a value
    const parent = stack[stack.length - 1];
    if (stack.length === 0) return ok({ end: pos, canonical, topLevel });
    if (c === E && stack.length === 1 && parent?.kind === 'd' && topKey !== null && frame !== parent) {
      topLevel.set(topKey, { start: topStart, end: pos });
    }
  }
}

import { crc32 } from 'node:zlib';
import type { StreamEvent } from './event-stream.ts';

/**
 * Write-ahead segment format. A segment is `seg-<base seq, 20 digits>.log`, holding records
 * back to back; record k of a segment is event number base + k. A record is
 *
 *   u32 BE payload length | u32 BE crc32(payload) | payload (UTF-8 JSON {i, s, d})
 *
 * A crash can leave a torn record at the tail of the newest segment (length or crc wrong,
 * or short); recovery truncates it. Such a record was never acknowledged, because
 * publish() resolves only after the fsync that covers it.
 */
export const HEADER_BYTES = 8;
/** A larger event is refused: facts and beacons are small, a huge one is a bug or an attack. */
export const MAX_RECORD_BYTES = 1 << 20;

export function segmentName(base: number): string {
  return `seg-${String(base).padStart(20, '0')}.log`;
}

export function parseSegmentName(name: string): number | null {
  const m = /^seg-(\d{20})\.log$/.exec(name);
  return m ? Number(m[1]) : null;
}

/**
 * Encodes a batch of events as records back to back, in one buffer. Per batch rather than
 * per record: the embedded stream is on the hot path of every announce fact and beacon, and
 * a buffer per record (then Buffer.concat of the batch before the write) was a third of the
 * encoding cost beside JSON.stringify (3.0-3.1 -> 2.6-2.7 us a fact, 200k facts in batches of 500 at load 10).
 * The bytes are those of encoding each record alone: readers see no difference.
 */
export function encodeRecords(events: readonly StreamEvent[]): Buffer {
  const jsons = new Array<string>(events.length);
  const lengths = new Array<number>(events.length);
  let total = 0;
  for (let k = 0; k < events.length; k++) {
    const e = events[k]!;
    // A publisher that laid its record out itself gives it as `json` (see StreamEvent).
    const json = e.json ?? JSON.stringify({ i: e.id, s: e.subject, d: e.data });
    jsons[k] = json;
    lengths[k] = Buffer.byteLength(json, 'utf8');
    total += HEADER_BYTES + lengths[k]!;
  }
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (let k = 0; k < jsons.length; k++) {
    const len = lengths[k]!;
    out.write(jsons[k]!, pos + HEADER_BYTES, len, 'utf8');
    out.writeUInt32BE(len, pos);
    out.writeUInt32BE(crc32(out.subarray(pos + HEADER_BYTES, pos + HEADER_BYTES + len)), pos + 4);
    pos += HEADER_BYTES + len;
  }
  return out;
}

/**
 * How many whole records `buf` holds back to back, or null when it is not exactly that
 * (a length out of range, or a torn last record). Lengths only, no crc or JSON: for records
 * laid out by encodeRecords in another process of the same program (see EventStream's
 * publishEncoded), so that a bug there cannot leave a hole in the log.
 */
export function countRecords(buf: Buffer): number | null {
  let pos = 0;
  let n = 0;
  while (pos < buf.length) {
    if (buf.length - pos < HEADER_BYTES) return null;
    const len = buf.readUInt32BE(pos);
    if (len === 0 || len > MAX_RECORD_BYTES || buf.length - pos - HEADER_BYTES < len) return null;
    pos += HEADER_BYTES + len;
    n++;
  }
  return n;
}

export type DecodeStep =
  | { kind: 'record'; event: StreamEvent; bytes: number }
  /** Not enough bytes yet for the record starting here (needs this many in all). */
  | { kind: 'short'; need: number }
  | { kind: 'corrupt'; why: string };

/** Decodes the record at `pos` of `buf`. */
export function decodeRecord(buf: Buffer, pos: number): DecodeStep {
  if (pos < 0 || buf.length - pos < HEADER_BYTES) return { kind: 'short', need: HEADER_BYTES };
  const len = buf.readUInt32BE(pos);
  if (len === 0 || len > MAX_RECORD_BYTES) return { kind: 'corrupt', why: `record length ${len}` };
  if (buf.length - pos < HEADER_BYTES + len) return { kind: 'short', need: HEADER_BYTES + len };
  const payload = buf.subarray(pos + HEADER_BYTES, pos + HEADER_BYTES + len);
  if (crc32(payload) !== buf.readUInt32BE(pos + 4)) return { kind: 'corrupt', why: 'crc mismatch' };
  try {
    const o = JSON.parse(payload.toString('utf8')) as { i: string; s: string; d: unknown };
    return { kind: 'record', event: { id: o.i, subject: o.s, data: o.d }, bytes: HEADER_BYTES + len };
  } catch {
    return { kind: 'corrupt', why: 'payload is not JSON' };
  }
}

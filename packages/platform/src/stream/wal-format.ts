import { crc32 } from 'node:zlib';
import type { StreamEvent } from './event-stream.ts';
import { validSubject } from './subjects.ts';

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
    const json = JSON.stringify({ i: e.id, s: e.subject, d: e.data });
    jsons[k] = json;
    lengths[k] = Buffer.byteLength(json, 'utf8');
    total += HEADER_BYTES + lengths[k]!;
  }
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (let k = 0; k < jsons.length; k++) {
    const len = lengths[k]!;
    out.write(jsons[k]!, pos + HEADER_BYTES, len, 'utf8');
    sealRecord(out, pos, pos + HEADER_BYTES + len);
    pos += HEADER_BYTES + len;
  }
  return out;
}

/**
 * For a publisher that lays its records out itself as bytes (`publishEncoded`: the tracker's
 * announce facts, where walking each fact with JSON.stringify was most of publishing it):
 * the payload is `{"i":"<id>","s":"<subject>","d":<data>}`, byte for byte what encodeRecords
 * writes for the same event, so its parts around the id and the data are given here, once.
 * Ids and subjects must need no JSON escaping (a publisher's nonce and sequence; validSubject).
 */
export function recordEnvelope(subject: string): { beforeId: string; beforeData: string; after: string } {
  if (!validSubject(subject) || JSON.stringify(subject) !== `"${subject}"`) {
    throw new Error(`not a subject a record can carry unescaped: ${subject}`);
  }
  return { beforeId: ID_START, beforeData: `"${SUBJECT_START}${subject}","d":`, after: '}' };
}

/** How a payload begins, up to its id, and what follows the id's closing quote up to the subject. */
const ID_START = '{"i":"';
const SUBJECT_START = ',"s":"';

/**
 * Writes the header of the record laid out in `buf` from `start` (its first header byte) to
 * `end` (one past its payload): the payload's length and crc32.
 */
export function sealRecord(buf: Buffer, start: number, end: number): void {
  const payload = start + HEADER_BYTES;
  buf.writeUInt32BE(end - payload, start);
  buf.writeUInt32BE(crc32(buf.subarray(payload, end)), start + 4);
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
  /** A whole record (length and crc checked) of a subject the reader does not want: not parsed. */
  | { kind: 'skipped'; bytes: number }
  /** Not enough bytes yet for the record starting here (needs this many in all). */
  | { kind: 'short'; need: number }
  | { kind: 'corrupt'; why: string };

const recordStart = Buffer.from(ID_START, 'latin1');
const subjectStart = Buffer.from(SUBJECT_START, 'latin1');

/**
 * The subject of a record payload, read from its first bytes without parsing it, or null
 * when the payload does not begin as encodeRecords lays it out: `{"i":<JSON string>,"s":"`,
 * then a subject (dot-separated [A-Za-z0-9_-], at most 200 characters) and `"`. A consumer
 * group reads every record of the log; the node's ads feedback consumer wants one subject
 * in thousands, and parsing every beacon's JSON to drop it was a per-beacon cost of the web
 * process (decodeRecord 2.6% of its profile under beacon load, beside the JSON.parse and
 * garbage). On null the caller parses the record as before.
 */
export function peekSubject(payload: Buffer): string | null {
  const end = payload.length;
  if (
    end < recordStart.length ||
    payload.compare(recordStart, 0, recordStart.length, 0, recordStart.length) !== 0
  )
    return null;
  // The id: a JSON string, where a backslash escapes the next byte (\" \\ \uXXXX alike).
  let p = recordStart.length;
  for (;;) {
    if (p >= end) return null;
    const c = payload[p]!;
    if (c === 0x22) break;
    p += c === 0x5c ? 2 : 1;
  }
  p++;
  if (
    end - p < subjectStart.length ||
    payload.compare(subjectStart, 0, subjectStart.length, p, p + subjectStart.length) !== 0
  )
    return null;
  p += subjectStart.length;
  const from = p;
  for (; p < end && p - from <= 200; p++) {
    const c = payload[p]!;
    if (c === 0x22) {
      const subject = payload.toString('latin1', from, p);
      return validSubject(subject) ? subject : null;
    }
    // A backslash, control or non-ASCII byte is in no valid subject.
    if (c === 0x5c || c < 0x20 || c > 0x7e) return null;
  }
  return null;
}

/**
 * Decodes the record at `pos` of `buf`. With `wanted`, a whole record whose subject (read by
 * peekSubject) is not wanted comes back `skipped`, its crc checked but its JSON not parsed.
 */
export function decodeRecord(buf: Buffer, pos: number, wanted?: (subject: string) => boolean): DecodeStep {
  if (pos < 0 || buf.length - pos < HEADER_BYTES) return { kind: 'short', need: HEADER_BYTES };
  const len = buf.readUInt32BE(pos);
  if (len === 0 || len > MAX_RECORD_BYTES) return { kind: 'corrupt', why: `record length ${len}` };
  if (buf.length - pos < HEADER_BYTES + len) return { kind: 'short', need: HEADER_BYTES + len };
  const payload = buf.subarray(pos + HEADER_BYTES, pos + HEADER_BYTES + len);
  if (crc32(payload) !== buf.readUInt32BE(pos + 4)) return { kind: 'corrupt', why: 'crc mismatch' };
  if (wanted) {
    const subject = peekSubject(payload);
    if (subject !== null && !wanted(subject)) return { kind: 'skipped', bytes: HEADER_BYTES + len };
  }
  try {
    const o = JSON.parse(payload.toString('utf8')) as { i: string; s: string; d: unknown };
    return { kind: 'record', event: { id: o.i, subject: o.s, data: o.d }, bytes: HEADER_BYTES + len };
  } catch {
    return { kind: 'corrupt', why: 'payload is not JSON' };
  }
}

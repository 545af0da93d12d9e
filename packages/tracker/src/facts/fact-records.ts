/**
 * A batch of announce facts laid out straight as the embedded stream's records, for a stream
 * that takes encoded records (`publishEncoded`: the embedded stream, a cluster worker's relay
 * to it). The record's frame (header, envelope) is the stream's: `streamRecordEnvelope`,
 * `sealStreamRecord`; the fact's JSON inside it is laid out here.
 *
 * Why: building each fact as an object, then its record as a string (a template of
 * thirteen parts, since deleted), then measuring and writing that string as UTF-8 was most of
 * the fact path, ~3 us an announce in the perf profile of `swarmcast tracker` (the strings
 * and objects of a batch also lived through scavenges while it waited). Here the constant
 * parts are bytes made once, numbers are written digit by digit, and the per-batch strings
 * (audience keys, client families: a few distinct values) are encoded once a batch. The
 * bytes are those of `encodeStreamRecords` over the same facts as events (facts.test.ts
 * compares them).
 */
import {
  factSubjects,
  sealStreamRecord,
  streamRecordEnvelope,
  streamRecordHeaderBytes,
} from '@swarmcast/platform';
import type { AnnounceObservation } from '../core/tracker-core.ts';

const headerBytes = streamRecordHeaderBytes;
const envelope = streamRecordEnvelope(factSubjects.announce);

const bytes = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const p0 = bytes(envelope.beforeId);
const p1 = bytes(`${envelope.beforeData}{"kind":"announce","id":"`);
const p2 = bytes('","time":');
const p3 = bytes(',"audienceKey":');
const p4 = bytes(',"datacenter":');
const pTrue = bytes('true');
const pFalse = bytes('false');
const p5 = bytes(',"infoHash":"');
const p6 = bytes('","event":"');
const p7 = bytes('","left":');
const p8 = bytes(',"uploadedDelta":');
const p9 = bytes(',"downloadedDelta":');
const p10 = bytes(',"clientFamily":');
const p11 = bytes(',"transport":"');
const p12 = bytes(`"}${envelope.after}`);
/** Bytes of a record besides its strings and numbers. */
const fixedBytes =
  p0.length +
  p1.length +
  p2.length +
  p3.length +
  p4.length +
  pFalse.length +
  p5.length +
  p6.length +
  p7.length +
  p8.length +
  p9.length +
  p10.length +
  p11.length +
  p12.length;
/** A number as JSON: at most 21 characters (String(-Number.MAX_VALUE) is 23; see writeNumber). */
const numberBytes = 24;

/** What one fact needs besides its observation, already encoded for the batch. */
export interface FactBatchParts {
  /** The publisher's nonce (ids are `<nonce>-<seq in base 36>`). */
  nonce: string;
  /** The sequence number of the batch's first fact. */
  firstSeq: number;
  /** JSON of the fact's audience key (quoted), as UTF-8 bytes. */
  audienceKey(i: number): Uint8Array;
  datacenter(i: number): boolean;
  /** JSON of the fact's client family (quoted), as UTF-8 bytes. */
  clientFamily(i: number): Uint8Array;
}

const toBase36 = (n: number): string => n.toString(36);

class ByteWriter {
  at = 0;
  constructor(readonly buf: Buffer) {}

  raw(b: Uint8Array): void {
    const buf = this.buf;
    let at = this.at;
    // A byte loop: for a few bytes TypedArray#set costs a call into the runtime each time.
    for (let k = 0; k < b.length; k++) buf[at++] = b[k]!;
    this.at = at;
  }

  /**
   * A string that needs no JSON escaping, as UTF-8 (what the record writes unquoted: ids, hex,
   * event and transport names). ASCII byte by byte; anything else
   * through Buffer#write, so the bytes are the same either way.
   */
  text(s: string): void {
    const buf = this.buf;
    let at = this.at;
    for (let k = 0; k < s.length; k++) {
      const c = s.charCodeAt(k);
      if (c >= 0x80) {
        this.at = at;
        this.at += buf.write(s.slice(k), at, 'utf8');
        return;
      }
      buf[at++] = c;
    }
    this.at = at;
  }

  /** `${n}` for a number, as JSON.stringify gives it. */
  number(n: number): void {
    this.integer(n, 10, String);
  }

  /** `n.toString(36)`, as the fact ids are made. */
  base36(n: number): void {
    this.integer(n, 36, toBase36);
  }

  /** A non-negative safe integer's digits in `radix` (else `general(n)`'s text). */
  private integer(n: number, radix: number, general: (n: number) => string): void {
    if (!Number.isSafeInteger(n) || n < 0) {
      this.text(general(n));
      return;
    }
    const buf = this.buf;
    if (n === 0) {
      buf[this.at++] = 0x30;
      return;
    }
    let digits = 0;
    for (let m = n; m >= 1; m = Math.floor(m / radix)) digits++;
    let at = this.at + digits;
    this.at = at;
    for (let m = n; m >= 1; m = Math.floor(m / radix)) {
      const d = m % radix;
      buf[--at] = d < 10 ? 0x30 + d : 0x57 + d;
    }
  }
}

/** UTF-8 bytes a string can take (3 per UTF-16 unit covers surrogate pairs too). */
const maxUtf8 = (s: string): number => s.length * 3;

/** The batch's records, back to back (see the file comment). */
export function encodeFactRecords(batch: readonly AnnounceObservation[], parts: FactBatchParts): Buffer {
  const nonceBytes = maxUtf8(parts.nonce);
  let bound = 0;
  for (let i = 0; i < batch.length; i++) {
    const r = batch[i]!.request;
    bound +=
      headerBytes +
      fixedBytes +
      2 * (nonceBytes + 1 + 11) +
      6 * numberBytes +
      parts.audienceKey(i).length +
      parts.clientFamily(i).length +
      maxUtf8(r.infoHash) +
      maxUtf8(r.event) +
      maxUtf8(r.transport);
  }
  const w = new ByteWriter(Buffer.allocUnsafe(bound));
  const buf = w.buf;
  for (let i = 0; i < batch.length; i++) {
    const o = batch[i]!;
    const r = o.request;
    const start = w.at;
    w.at += headerBytes;
    const seq = parts.firstSeq + i;
    w.raw(p0);
    w.text(parts.nonce);
    buf[w.at++] = 0x2d; // -
    w.base36(seq);
    w.raw(p1);
    w.text(parts.nonce);
    buf[w.at++] = 0x2d;
    w.base36(seq);
    w.raw(p2);
    w.number(o.time);
    w.raw(p3);
    w.raw(parts.audienceKey(i));
    w.raw(p4);
    w.raw(parts.datacenter(i) ? pTrue : pFalse);
    w.raw(p5);
    w.text(r.infoHash);
    w.raw(p6);
    w.text(r.event);
    w.raw(p7);
    w.number(r.left);
    w.raw(p8);
    w.number(o.uploadedDelta);
    w.raw(p9);
    w.number(o.downloadedDelta);
    w.raw(p10);
    w.raw(parts.clientFamily(i));
    w.raw(p11);
    w.text(r.transport);
    w.raw(p12);
    sealStreamRecord(buf, start, w.at);
  }
  return buf.subarray(0, w.at);
}

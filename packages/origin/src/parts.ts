import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

/**
 * A body assembled from parts in order: literal bytes (a rewritten header) or a slice of a
 * file on disk, `[start, end)` in that file. The stitched enclosure is such a body: content
 * frames from the episode file, ad frames from a prepared ad file, a new header in bytes.
 */
export type BodyPart =
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'file'; path: string; start: number; end: number };

export function partLength(p: BodyPart): number {
  return p.kind === 'bytes' ? p.bytes.length : p.end - p.start;
}

export function bodySize(parts: readonly BodyPart[]): number {
  let n = 0;
  for (const p of parts) n += partLength(p);
  return n;
}

/**
 * The bytes [from, to] (inclusive) of the body as a stream. Work is proportional to the
 * parts the range touches plus a skip over the ones before it; files are read in 64 KiB
 * chunks and opened only when reached.
 */
export function readParts(parts: readonly BodyPart[], from: number, to: number): Readable {
  async function* chunks(): AsyncGenerator<Uint8Array> {
    let at = 0;
    for (const p of parts) {
      const len = partLength(p);
      const partStart = at;
      at += len;
      if (at <= from || len === 0) continue;
      if (partStart > to) return;
      const a = Math.max(from, partStart) - partStart;
      const b = Math.min(to, at - 1) - partStart; // inclusive, within the part
      if (p.kind === 'bytes') {
        yield p.bytes.subarray(a, b + 1);
        continue;
      }
      const stream = createReadStream(p.path, {
        start: p.start + a,
        end: p.start + b,
        highWaterMark: 64 * 1024,
      });
      for await (const chunk of stream) yield chunk as Uint8Array;
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

/**
 * Node adapter: file I/O for the pure media layer (the rest of the package imports no `node:`
 * module, so the browser and other runtimes can reuse it).
 */
import { open } from 'node:fs/promises';
import type { Result } from '../errors.ts';
import { type Mp3Scan, type ScanOptions, scanSteps } from '../mp3/scan.ts';
import { partsInRange } from '../stitch/assemble.ts';
import type { StitchLayout } from '../stitch/layout.ts';

/**
 * Scan an MP3 file, streaming it a megabyte at a time (memory: about 1 MiB of file, the
 * first ID3v2 tag, and 6 bytes per frame), with the event loop free between reads. Cache
 * the scan per file.
 */
export async function scanMp3File(path: string, options?: ScanOptions): Promise<Result<Mp3Scan>> {
  const f = await open(path, 'r');
  try {
    const { size } = await f.stat();
    const steps = scanSteps(size, options);
    let next = steps.next();
    while (!next.done) {
      const { offset, length } = next.value;
      const buf = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
      let got = 0;
      while (got < buf.length) {
        const { bytesRead } = await f.read(buf, got, buf.length - got, offset + got);
        if (bytesRead === 0) break; // the file shrank under us: the scanner sees a short read
        got += bytesRead;
      }
      next = steps.next(buf.subarray(0, got));
    }
    return next.value;
  } finally {
    await f.close();
  }
}

/** The first `bytes` of a file, for `detectContainer` (default 64 KiB). */
export async function readHead(path: string, bytes = 65536): Promise<Uint8Array> {
  const f = await open(path, 'r');
  try {
    const buf = new Uint8Array(bytes);
    const { bytesRead } = await f.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await f.close();
  }
}

/**
 * Stream [start, end) of a stitched file as chunks: content ranges are read from the episode
 * file, ad parts from the prepared ad frames the caller holds.
 */
export async function* readStitchedRange(
  layout: Pick<StitchLayout, 'parts'>,
  contentPath: string,
  adFrames: (adId: string) => Uint8Array,
  start: number,
  end: number,
): AsyncGenerator<Uint8Array> {
  const f = await open(contentPath, 'r');
  try {
    for (const part of partsInRange(layout, start, end)) {
      if (part.kind === 'bytes') yield part.bytes;
      else if (part.kind === 'ad') yield adFrames(part.adId).subarray(part.start, part.end);
      else {
        for (let p = part.start; p < part.end; ) {
          const n = Math.min(256 * 1024, part.end - p);
          const buf = new Uint8Array(n);
          const { bytesRead } = await f.read(buf, 0, n, p);
          if (bytesRead === 0) throw new Error(`${contentPath} is shorter than its scan (changed on disk?)`);
          yield buf.subarray(0, bytesRead);
          p += bytesRead;
        }
      }
    }
  } finally {
    await f.close();
  }
}

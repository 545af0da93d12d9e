import { open } from 'node:fs/promises';

/**
 * The order of an MP4's top-level boxes. A file can start playing before it is fully
 * fetched when `moov` (the index) comes before `mdat` (the samples), i.e. "fast start".
 * Reads only the 8- or 16-byte box headers; bounded to `maxBoxes` so a hostile file with
 * millions of tiny boxes costs little.
 */
export async function topLevelBoxes(path: string, maxBoxes = 64): Promise<string[]> {
  return (await topLevelBoxSpans(path, maxBoxes)).map((b) => b.type);
}

/** One top-level box: where it starts, its whole size and its header's size (8 or 16). */
export interface BoxSpan {
  type: string;
  offset: number;
  size: number;
  headerSize: number;
}

/** The top-level boxes with their positions (same bounds as `topLevelBoxes`). */
export async function topLevelBoxSpans(path: string, maxBoxes = 64): Promise<BoxSpan[]> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const header = Buffer.alloc(16);
    const boxes: BoxSpan[] = [];
    let pos = 0;
    while (pos + 8 <= size && boxes.length < maxBoxes) {
      const { bytesRead } = await fh.read(header, 0, 16, pos);
      if (bytesRead < 8) break;
      let boxSize = header.readUInt32BE(0);
      let headerSize = 8;
      const type = header.toString('latin1', 4, 8);
      if (!/^[\x20-\x7e]{4}$/.test(type)) break;
      if (boxSize === 1) {
        if (bytesRead < 16) break;
        boxSize = Number(header.readBigUInt64BE(8));
        headerSize = 16;
      } else if (boxSize === 0) boxSize = size - pos; // the box runs to the end of the file
      if (boxSize < headerSize) break;
      boxes.push({ type, offset: pos, size: boxSize, headerSize });
      pos += boxSize;
    }
    return boxes;
  } finally {
    await fh.close();
  }
}

/**
 * The bytes of an MP4 that are not samples but that a player needs before the first
 * sample (the "header" of the IAB download threshold, header + one minute): everything up
 * to the start of `mdat`'s payload, plus `moov` when it comes after `mdat` (not fast
 * start: the player fetches the index at the end too). 0 when there is no mdat and moov.
 */
export async function mp4HeaderBytes(path: string): Promise<number> {
  const boxes = await topLevelBoxSpans(path);
  const mdat = boxes.find((b) => b.type === 'mdat');
  const moov = boxes.find((b) => b.type === 'moov');
  if (!mdat || !moov) return 0;
  const beforeSamples = mdat.offset + mdat.headerSize;
  return moov.offset > mdat.offset ? beforeSamples + moov.size : beforeSamples;
}

/** True when moov precedes mdat; null when either is missing (not an MP4 we can judge). */
export function isFastStart(boxes: readonly string[]): boolean | null {
  const moov = boxes.indexOf('moov');
  const mdat = boxes.indexOf('mdat');
  if (moov < 0 || mdat < 0) return null;
  return moov < mdat;
}

import { open } from 'node:fs/promises';

/**
 * The order of an MP4's top-level boxes. A file can start playing before it is fully
 * fetched when `moov` (the index) comes before `mdat` (the samples), i.e. "fast start".
 * Reads only the 8- or 16-byte box headers; bounded to `maxBoxes` so a hostile file with
 * millions of tiny boxes costs little.
 */
export async function topLevelBoxes(path: string, maxBoxes = 64): Promise<string[]> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const header = Buffer.alloc(16);
    const types: string[] = [];
    let pos = 0;
    while (pos + 8 <= size && types.length < maxBoxes) {
      const { bytesRead } = await fh.read(header, 0, 16, pos);
      if (bytesRead < 8) break;
      let boxSize = header.readUInt32BE(0);
      const type = header.toString('latin1', 4, 8);
      if (!/^[\x20-\x7e]{4}$/.test(type)) break;
      types.push(type);
      if (boxSize === 1) {
        if (bytesRead < 16) break;
        boxSize = Number(header.readBigUInt64BE(8));
      } else if (boxSize === 0) break; // the box runs to the end of the file
      if (boxSize < 8) break;
      pos += boxSize;
    }
    return types;
  } finally {
    await fh.close();
  }
}

/** True when moov precedes mdat; null when either is missing (not an MP4 we can judge). */
export function isFastStart(boxes: readonly string[]): boolean | null {
  const moov = boxes.indexOf('moov');
  const mdat = boxes.indexOf('mdat');
  if (moov < 0 || mdat < 0) return null;
  return moov < mdat;
}

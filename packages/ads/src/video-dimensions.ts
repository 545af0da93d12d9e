/**
 * The picture size of an uploaded MP4 video, read from its boxes (no ffprobe): the first
 * track whose handler is `vide` gives the width and height of its track header (`tkhd`,
 * 16.16 fixed point). Outside bytes: every box size is checked against its parent, the walk
 * is bounded in boxes and depth, and anything odd gives null rather than a guess.
 * (WebM sizes come from music-metadata's Matroska parser.)
 */

export interface Dimensions {
  width: number;
  height: number;
}

const maxBoxes = 4096;

interface Box {
  type: string;
  start: number;
  end: number;
}

/** The child boxes in [start, end), or null when a size runs past its parent. */
function children(b: Buffer, start: number, end: number, budget: { left: number }): Box[] | null {
  const out: Box[] = [];
  let pos = start;
  while (pos + 8 <= end) {
    if (--budget.left < 0) return null;
    let size = b.readUInt32BE(pos);
    const type = b.toString('latin1', pos + 4, pos + 8);
    let header = 8;
    if (size === 1) {
      if (pos + 16 > end) return null;
      const big = b.readBigUInt64BE(pos + 8);
      if (big > BigInt(end - pos)) return null;
      size = Number(big);
      header = 16;
    } else if (size === 0) {
      size = end - pos;
    }
    if (size < header || pos + size > end) return null;
    out.push({ type, start: pos + header, end: pos + size });
    pos += size;
  }
  return out;
}

export function mp4VideoDimensions(b: Buffer): Dimensions | null {
  const budget = { left: maxBoxes };
  const top = children(b, 0, b.length, budget);
  const moov = top?.find((x) => x.type === 'moov');
  if (!moov) return null;
  for (const trak of children(b, moov.start, moov.end, budget)?.filter((x) => x.type === 'trak') ?? []) {
    const parts = children(b, trak.start, trak.end, budget);
    if (!parts) return null;
    const mdia = parts.find((x) => x.type === 'mdia');
    const hdlr = mdia && children(b, mdia.start, mdia.end, budget)?.find((x) => x.type === 'hdlr');
    if (
      !hdlr ||
      hdlr.end - hdlr.start < 12 ||
      b.toString('latin1', hdlr.start + 8, hdlr.start + 12) !== 'vide'
    )
      continue;
    const tkhd = parts.find((x) => x.type === 'tkhd');
    if (!tkhd) continue;
    const version = b[tkhd.start];
    // version/flags, then times and ids (20 bytes in v0, 32 in v1), then 52 bytes of
    // reserved, layer, group, volume and matrix, then width and height.
    const at = tkhd.start + 4 + (version === 1 ? 32 : 20) + 52;
    if (version !== 0 && version !== 1) continue;
    if (at + 8 > tkhd.end) continue;
    const width = Math.round(b.readUInt32BE(at) / 65536);
    const height = Math.round(b.readUInt32BE(at + 4) / 65536);
    if (width > 0 && height > 0) return { width, height };
  }
  return null;
}

/**
 * Bytes before the media payload, for the IAB download threshold (header + one minute).
 * MP3: the ID3v2 tag at the start (10-byte header + synchsafe size + optional footer).
 * Anything else (MP4 moov, no tag): 0, which makes the threshold slightly low, never high.
 */
export function headerBytesOf(head: Uint8Array): number {
  if (head.length < 10 || head[0] !== 0x49 || head[1] !== 0x44 || head[2] !== 0x33) return 0;
  const size = [head[6], head[7], head[8], head[9]] as number[];
  // Synchsafe: 7 bits per byte; a set high bit means this is not a valid ID3v2 tag.
  if (size.some((b) => b > 0x7f) || head[3] === 0xff || head[4] === 0xff) return 0;
  const body = (size[0]! << 21) | (size[1]! << 14) | (size[2]! << 7) | size[3]!;
  const footer = (head[5]! & 0x10) !== 0 ? 10 : 0;
  return 10 + body + footer;
}

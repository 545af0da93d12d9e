/** Big-endian bitfields as BEP 3 sends them: piece 0 is the high bit of byte 0. */
export function newBits(count: number): Uint8Array {
  return new Uint8Array(Math.ceil(count / 8));
}

export function getBit(bits: Uint8Array, i: number): boolean {
  return ((bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0;
}

export function setBit(bits: Uint8Array, i: number): void {
  bits[i >> 3]! |= 0x80 >> (i & 7);
}

export function clearBit(bits: Uint8Array, i: number): void {
  bits[i >> 3]! &= ~(0x80 >> (i & 7));
}

export function countBits(bits: Uint8Array, count: number): number {
  let n = 0;
  for (let i = 0; i < count; i++) if (getBit(bits, i)) n++;
  return n;
}

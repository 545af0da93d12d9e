/**
 * SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed pseudo-random function with a 128-bit
 * key and a 64-bit output, built for short inputs such as hash-table keys and, here, UDP
 * connection ids. Written over 32-bit halves because a BigInt version costs ~20x more, and
 * an HMAC from node:crypto costs several microseconds per call, too much for every UDP packet.
 */

/** Key material split into four little-endian 32-bit words (k0 lo, k0 hi, k1 lo, k1 hi). */
export type SipKey = Uint32Array;

export function sipKey(key: Uint8Array): SipKey {
  if (key.length !== 16) throw new RangeError('SipHash key must be 16 bytes');
  const view = new DataView(key.buffer, key.byteOffset, 16);
  return Uint32Array.of(
    view.getUint32(0, true),
    view.getUint32(4, true),
    view.getUint32(8, true),
    view.getUint32(12, true),
  );
}

// The state: v0..v3, each a (hi, lo) pair of uint32.
const s = new Uint32Array(8);

function add(a: number, b: number): void {
  // s[a] = s[a] + s[b] (64-bit), a/b index the hi word; lo word at +1.
  const lo = s[a + 1]! + s[b + 1]!;
  s[a] = (s[a]! + s[b]! + (lo > 0xffffffff ? 1 : 0)) >>> 0;
  s[a + 1] = lo >>> 0;
}

function rotl(a: number, n: number): void {
  const hi = s[a]!;
  const lo = s[a + 1]!;
  if (n === 32) {
    s[a] = lo;
    s[a + 1] = hi;
  } else if (n < 32) {
    s[a] = ((hi << n) | (lo >>> (32 - n))) >>> 0;
    s[a + 1] = ((lo << n) | (hi >>> (32 - n))) >>> 0;
  } else {
    const m = n - 32;
    s[a] = ((lo << m) | (hi >>> (32 - m))) >>> 0;
    s[a + 1] = ((hi << m) | (lo >>> (32 - m))) >>> 0;
  }
}

function xor(a: number, b: number): void {
  s[a] = (s[a]! ^ s[b]!) >>> 0;
  s[a + 1] = (s[a + 1]! ^ s[b + 1]!) >>> 0;
}

const V0 = 0;
const V1 = 2;
const V2 = 4;
const V3 = 6;

function round(): void {
  add(V0, V1);
  rotl(V1, 13);
  xor(V1, V0);
  rotl(V0, 32);
  add(V2, V3);
  rotl(V3, 16);
  xor(V3, V2);
  add(V0, V3);
  rotl(V3, 21);
  xor(V3, V0);
  add(V2, V1);
  rotl(V1, 17);
  xor(V1, V2);
  rotl(V2, 32);
}

function absorb(hi: number, lo: number): void {
  s[V3] = (s[V3]! ^ hi) >>> 0;
  s[V3 + 1] = (s[V3 + 1]! ^ lo) >>> 0;
  round();
  round();
  s[V0] = (s[V0]! ^ hi) >>> 0;
  s[V0 + 1] = (s[V0 + 1]! ^ lo) >>> 0;
}

function byteAt(data: Uint8Array, i: number): number {
  return data[i] ?? 0;
}

/**
 * SipHash-2-4 of `data` under `key`; writes the 64-bit result into `out` at `offset` as
 * 8 little-endian bytes (the reference byte order).
 */
export function sipHash24(key: SipKey, data: Uint8Array, out: Uint8Array, offset = 0): void {
  const k0lo = key[0]!;
  const k0hi = key[1]!;
  const k1lo = key[2]!;
  const k1hi = key[3]!;
  s[V0] = (k0hi ^ 0x736f6d65) >>> 0;
  s[V0 + 1] = (k0lo ^ 0x70736575) >>> 0;
  s[V1] = (k1hi ^ 0x646f7261) >>> 0;
  s[V1 + 1] = (k1lo ^ 0x6e646f6d) >>> 0;
  s[V2] = (k0hi ^ 0x6c796765) >>> 0;
  s[V2 + 1] = (k0lo ^ 0x6e657261) >>> 0;
  s[V3] = (k1hi ^ 0x74656462) >>> 0;
  s[V3 + 1] = (k1lo ^ 0x79746573) >>> 0;
  const len = data.length;
  const full = len - (len % 8);
  for (let i = 0; i < full; i += 8) {
    const lo = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0;
    const hi = (data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24)) >>> 0;
    absorb(hi, lo);
  }
  const lo =
    (byteAt(data, full) |
      (full + 1 < len ? byteAt(data, full + 1) << 8 : 0) |
      (full + 2 < len ? byteAt(data, full + 2) << 16 : 0) |
      (full + 3 < len ? byteAt(data, full + 3) << 24 : 0)) >>>
    0;
  const hi =
    ((full + 4 < len ? byteAt(data, full + 4) : 0) |
      (full + 5 < len ? byteAt(data, full + 5) << 8 : 0) |
      (full + 6 < len ? byteAt(data, full + 6) << 16 : 0) |
      ((len & 0xff) << 24)) >>>
    0;
  absorb(hi, full < len ? lo : 0);
  s[V2 + 1] = (s[V2 + 1]! ^ 0xff) >>> 0;
  round();
  round();
  round();
  round();
  const rhi = (s[V0]! ^ s[V1]! ^ s[V2]! ^ s[V3]!) >>> 0;
  const rlo = (s[V0 + 1]! ^ s[V1 + 1]! ^ s[V2 + 1]! ^ s[V3 + 1]!) >>> 0;
  out[offset] = rlo & 0xff;
  out[offset + 1] = (rlo >>> 8) & 0xff;
  out[offset + 2] = (rlo >>> 16) & 0xff;
  out[offset + 3] = rlo >>> 24;
  out[offset + 4] = rhi & 0xff;
  out[offset + 5] = (rhi >>> 8) & 0xff;
  out[offset + 6] = (rhi >>> 16) & 0xff;
  out[offset + 7] = rhi >>> 24;
}

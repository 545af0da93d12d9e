/**
 * RC4, the stream cipher of BitTorrent's Message Stream Encryption. Obfuscation against
 * traffic shaping, not secrecy: MSE uses it because every client does. Written out here
 * because OpenSSL 3 (Node 17+) ships RC4 only in its legacy provider and browsers lack it.
 */
export class Rc4 {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;

  constructor(key: Uint8Array) {
    const s = this.s;
    for (let i = 0; i < 256; i++) s[i] = i;
    for (let i = 0, j = 0; i < 256; i++) {
      j = (j + s[i]! + key[i % key.length]!) & 0xff;
      const t = s[i]!;
      s[i] = s[j]!;
      s[j] = t;
    }
  }

  /** XORs the key stream into `data`, written to `out` (default: in place); returns `out`. */
  apply(data: Uint8Array, out: Uint8Array = data): Uint8Array {
    const s = this.s;
    let i = this.i;
    let j = this.j;
    for (let k = 0; k < data.length; k++) {
      i = (i + 1) & 0xff;
      const si = s[i]!;
      j = (j + si) & 0xff;
      const sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      out[k] = data[k]! ^ s[(si + sj) & 0xff]!;
    }
    this.i = i;
    this.j = j;
    return out;
  }

  /** The next `n` bytes of key stream, without advancing this cipher. */
  peek(n: number): Uint8Array {
    const copy = new Rc4(new Uint8Array(1));
    copy.s.set(this.s);
    copy.i = this.i;
    copy.j = this.j;
    return copy.apply(new Uint8Array(n));
  }

  /** Drops `n` bytes of key stream (MSE drops the first 1024). */
  discard(n: number): void {
    this.apply(new Uint8Array(n));
  }
}

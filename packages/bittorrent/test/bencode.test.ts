import { describe, expect, it } from 'vitest';
import {
  type BEncodable,
  decodeBencode,
  decodeBencodePrefix,
  encodeBencode,
  scanBencode,
} from '../src/index.ts';
import { prng, randomBytes, testSeed } from './prng.ts';

const enc = (s: string) => new TextEncoder().encode(s);

describe('bencode: hostile input gives a coded error, never a throw', () => {
  const cases: [string, string | Uint8Array, string][] = [
    ['empty', '', 'BT_BENCODE_MALFORMED'],
    ['open list', 'l', 'BT_BENCODE_MALFORMED'],
    ['open dict', 'd', 'BT_BENCODE_MALFORMED'],
    ['key without value', 'd3:fooe', 'BT_BENCODE_MALFORMED'],
    ['non-string key', 'di1ei2ee', 'BT_BENCODE_MALFORMED'],
    ['dict as key', 'ddei1ee', 'BT_BENCODE_MALFORMED'],
    ['string past end', '4:abc', 'BT_BENCODE_MALFORMED'],
    ['huge string length', '99999999999999999:a', 'BT_BENCODE_MALFORMED'],
    ['leading zero length', '03:abc', 'BT_BENCODE_MALFORMED'],
    ['negative zero', 'i-0e', 'BT_BENCODE_MALFORMED'],
    ['leading zero int', 'i012e', 'BT_BENCODE_MALFORMED'],
    ['empty int', 'ie', 'BT_BENCODE_MALFORMED'],
    ['plus sign', 'i+1e', 'BT_BENCODE_MALFORMED'],
    ['float', 'i1.5e', 'BT_BENCODE_MALFORMED'],
    ['unterminated int', 'i12', 'BT_BENCODE_MALFORMED'],
    ['int beyond 2^53', 'i99999999999999999e', 'BT_BENCODE_MALFORMED'],
    ['stray e', 'e', 'BT_BENCODE_MALFORMED'],
    ['stray byte', 'x', 'BT_BENCODE_MALFORMED'],
    ['trailing bytes', 'i1ei2e', 'BT_BENCODE_TRAILING'],
    ['proto key', 'd9:__proto__d1:ai1eee', 'BT_BENCODE_BAD_KEY'],
    ['deep nesting', `${'l'.repeat(100_000)}${'e'.repeat(100_000)}`, 'BT_BENCODE_TOO_DEEP'],
  ];
  for (const [what, input, code] of cases) {
    it(what, () => {
      const r = decodeBencode(typeof input === 'string' ? enc(input) : input);
      expect(r.ok ? 'ok' : r.error.code).toBe(code);
    });
  }

  it('enforces the size and item limits', () => {
    const limits = { maxBytes: 10, maxDepth: 5, maxItems: 3 };
    expect(decodeBencode(enc('12:abcdefghijkl'), limits)).toMatchObject({
      error: { code: 'BT_BENCODE_TOO_LARGE' },
    });
    expect(decodeBencode(enc('li1ei2ei3ee'), { ...limits, maxBytes: 100 })).toMatchObject({
      error: { code: 'BT_BENCODE_TOO_LARGE' },
    });
    expect(
      decodeBencode(enc('llllllee'.replace('ee', 'eeee')), { ...limits, maxBytes: 100, maxItems: 100 }),
    ).toMatchObject({
      error: { code: 'BT_BENCODE_TOO_DEEP' },
    });
  });
});

describe('bencode: values and spans', () => {
  it('decodes byte strings as bytes and keys as text', () => {
    const r = decodeBencode(enc('d3:agei42e4:name3:bob5:partsli-1e0:ee'));
    expect(r.ok && r.value.value).toEqual({ age: 42, name: enc('bob'), parts: [-1, new Uint8Array(0)] });
  });

  it('finds the raw span of each top-level value, even when keys are out of order', () => {
    const text = 'd4:infod6:lengthi5e4:name1:ae8:announce3:urle';
    const r = decodeBencode(enc(text));
    if (!r.ok) throw new Error(r.error.message);
    const span = r.value.report.topLevel.get('info')!;
    expect(text.slice(span.start, span.end)).toBe('d6:lengthi5e4:name1:ae');
    expect(r.value.report.canonical).toBe(false);
    expect(decodeBencode(enc('d1:ai1e1:bi2ee')).ok && scanBencode(enc('d1:ai1e1:bi2ee'))).toMatchObject({
      value: { canonical: true },
    });
  });

  it('decodes a prefix and says where it ends (BEP 9 pieces carry raw bytes after it)', () => {
    const r = decodeBencodePrefix(enc('d8:msg_typei1eeRAW'));
    expect(r.ok && r.value.report.end).toBe(15);
  });

  it('keys a non-UTF-8 key by its hex (v2 piece layers)', () => {
    const key = new Uint8Array([0xff, 0xfe]);
    const bytes = new Uint8Array([...enc('d2:'), ...key, ...enc('i1ee')]);
    const r = decodeBencode(bytes);
    expect(r.ok && r.value.value).toEqual({ fffe: 1 });
  });
});

/** A random value of bounded size and depth. */
function randomValue(rand: () => number, depth: number): BEncodable {
  const kind = Math.floor(rand() * (depth > 3 ? 2 : 4));
  if (kind === 0) return Math.floor((rand() - 0.5) * 2 ** Math.floor(rand() * 53));
  if (kind === 1) return randomBytes(rand, Math.floor(rand() * 20));
  if (kind === 2) return Array.from({ length: Math.floor(rand() * 5) }, () => randomValue(rand, depth + 1));
  const d: Record<string, BEncodable> = {};
  for (let i = Math.floor(rand() * 5); i > 0; i--) {
    d[String.fromCharCode(97 + Math.floor(rand() * 26)) + Math.floor(rand() * 100)] = randomValue(
      rand,
      depth + 1,
    );
  }
  return d;
}

describe('bencode: properties (seeded)', () => {
  const seed = testSeed();
  it(`encode-then-decode-then-encode is the identity on bytes (seed ${seed})`, () => {
    const rand = prng(seed);
    for (let i = 0; i < 2000; i++) {
      const bytes = encodeBencode(randomValue(rand, 0));
      const r = decodeBencode(bytes);
      if (!r.ok) throw new Error(`seed ${seed} iteration ${i}: ${r.error.message}`);
      expect(encodeBencode(r.value.value as BEncodable), `seed ${seed} iteration ${i}`).toEqual(bytes);
      expect(r.value.report.canonical).toBe(true);
    }
  });

  it(`random mutations never throw (seed ${seed})`, () => {
    const rand = prng(seed ^ 0x5eed);
    let accepted = 0;
    for (let i = 0; i < 5000; i++) {
      const bytes = encodeBencode(randomValue(rand, 0)).slice();
      const flips = 1 + Math.floor(rand() * 3);
      for (let f = 0; f < flips && bytes.length > 0; f++) {
        const at = Math.floor(rand() * bytes.length);
        const op = rand();
        if (op < 0.6) bytes[at] = Math.floor(rand() * 256);
        else if (op < 0.8) bytes[at] = 'deil:0123456789-'.charCodeAt(Math.floor(rand() * 16));
        else bytes.copyWithin(at, Math.floor(rand() * bytes.length));
      }
      const cut = rand() < 0.2 ? bytes.subarray(0, Math.floor(rand() * bytes.length)) : bytes;
      let r: ReturnType<typeof decodeBencode>;
      try {
        r = decodeBencode(cut);
      } catch (err) {
        throw new Error(`seed ${seed} iteration ${i} threw: ${String(err)}`);
      }
      if (r.ok) {
        accepted++;
        // whatever we accept re-encodes without throwing
        encodeBencode(r.value.value as BEncodable);
      } else {
        expect(r.error.code, `seed ${seed} iteration ${i}`).toMatch(/^BT_BENCODE_/);
      }
    }
    expect(accepted).toBeGreaterThan(0);
  });
});

import { describe, expect, it } from 'vitest';
import { sniffImage } from '../src/index.ts';

const png = (w: number, h: number) => {
  const b = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12, 'latin1');
  b.writeUInt32BE(w, 16);
  b.writeUInt32BE(h, 20);
  return b;
};
const app0 = Buffer.concat([
  Buffer.from([0xff, 0xe0, 0x00, 0x10]),
  Buffer.from('JFIF\0\x01\x01\0\0\x01\0\x01\0\0', 'latin1'),
]);
const jpeg = (w: number, h: number, marker = 0xc0) =>
  Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    app0,
    Buffer.from([0xff, marker, 0x00, 0x11, 0x08, h >> 8, h & 255, w >> 8, w & 255, 3]),
  ]);

describe('sniffImage (artwork from outside)', () => {
  it.each([
    ['PNG 1400x1400', png(1400, 1400), { type: 'png', width: 1400, height: 1400 }],
    ['baseline JPEG 3000x2000', jpeg(3000, 2000), { type: 'jpeg', width: 3000, height: 2000 }],
    ['progressive JPEG', jpeg(1400, 1400, 0xc2), { type: 'jpeg', width: 1400, height: 1400 }],
    ['PNG with zero width', png(0, 10), null],
    ['JPEG cut inside the SOF', jpeg(10, 10).subarray(0, 25), null],
    ['JPEG with a zero segment length', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x00, 0xff, 0xc0]), null],
    ['JPEG whose segments are not markers', Buffer.from([0xff, 0xd8, 0x00, 0x00, 0x00, 0x00]), null],
    ['GIF', Buffer.from('GIF89a\x01\x00\x01\x00'), null],
    ['SVG with script', Buffer.from('<svg><script>alert(1)</script></svg>'), null],
    ['PNG signature only', png(1, 1).subarray(0, 8), null],
    ['empty', Buffer.alloc(0), null],
  ])('%s', (_name, bytes, want) => {
    expect(sniffImage(bytes)).toEqual(want);
  });
});

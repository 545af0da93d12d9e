import { describe, expect, it } from 'vitest';
import { fileAt, makeLayout, pieceSize, piecesOfFile, spansOf } from '../src/storage/layout.ts';

describe('storage layout', () => {
  // Files: a(10) pad(6) b(3) empty c(20); piece length 8.
  const v1 = makeLayout(8, [
    { path: ['t', 'a'], length: 10 },
    { path: ['t', '.pad', '6'], length: 6, pad: true },
    { path: ['t', 'b'], length: 3 },
    { path: ['t', 'e'], length: 0 },
    { path: ['t', 'c'], length: 20 },
  ]);

  it('places files one after another in piece space', () => {
    expect(v1.files.map((f) => f.offset)).toEqual([0, 10, 16, 19, 19]);
    expect(v1.totalLength).toBe(39);
    expect(v1.pieceCount).toBe(5);
  });

  it.each([
    [0, 0],
    [9, 0],
    [10, 1],
    [16, 2],
    [18, 2],
    [19, 4],
    [38, 4],
    [39, -1],
  ])('byte %i is in file %i', (offset, file) => {
    expect(fileAt(v1, offset)).toBe(file);
  });

  it.each([
    [0, 8],
    [3, 8],
    [4, 7],
  ])('piece %i is %i bytes', (index, size) => {
    expect(pieceSize(v1, index)).toBe(size);
  });

  it('splits a range into file spans, skipping empty files', () => {
    expect(spansOf(v1, 8, 13)).toEqual([
      { file: 0, fileOffset: 8, length: 2, bufferOffset: 0 },
      { file: 1, fileOffset: 0, length: 6, bufferOffset: 2 },
      { file: 2, fileOffset: 0, length: 3, bufferOffset: 8 },
      { file: 4, fileOffset: 0, length: 2, bufferOffset: 11 },
    ]);
  });

  it('lists the pieces of a file', () => {
    expect(piecesOfFile(v1, 0)).toEqual({ first: 0, end: 2 });
    expect(piecesOfFile(v1, 4)).toEqual({ first: 2, end: 5 });
    expect(piecesOfFile(v1, 3)).toEqual({ first: 0, end: 0 });
  });

  describe('v2 alignment', () => {
    const v2 = makeLayout(
      8,
      [
        { path: ['t', 'a'], length: 10 },
        { path: ['t', 'b'], length: 3 },
        { path: ['t', 'c'], length: 17 },
      ],
      true,
    );

    it('starts every file on a piece boundary', () => {
      expect(v2.files.map((f) => f.offset)).toEqual([0, 16, 24]);
      expect(v2.pieceCount).toBe(6);
    });

    it.each([
      [0, 8],
      [1, 2],
      [2, 3],
      [3, 8],
      [5, 1],
    ])('piece %i is %i bytes on the wire', (index, size) => {
      expect(pieceSize(v2, index)).toBe(size);
    });

    it('leaves the gaps out of spans', () => {
      expect(spansOf(v2, 8, 16)).toEqual([
        { file: 0, fileOffset: 8, length: 2, bufferOffset: 0 },
        { file: 1, fileOffset: 0, length: 3, bufferOffset: 8 },
      ]);
      expect(spansOf(v2, 12, 4)).toEqual([]);
    });
  });

  it('rejects a bad piece length', () => {
    expect(() => makeLayout(0, [])).toThrow(RangeError);
  });
});

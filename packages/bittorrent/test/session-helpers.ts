import { createHash, randomBytes } from 'node:crypto';
import type { VerifyPiece } from '../src/session/piece-verification.ts';
import { makeLayout, type StorageLayout } from '../src/storage/layout.ts';
import { MemoryStorage } from '../src/storage/memory-storage.ts';

/** A v1 torrent of random content, with its piece hashes: enough for engine tests. */
export interface TestTorrent {
  readonly layout: StorageLayout;
  readonly content: Uint8Array;
  readonly infoHash: Uint8Array;
  readonly hashes: Uint8Array;
  readonly verify: VerifyPiece;
}

export function testTorrent(size: number, pieceLength: number, files?: number[]): TestTorrent {
  const lengths = files ?? [size];
  const layout = makeLayout(
    pieceLength,
    lengths.map((length, i) => ({ path: ['t', `f${i}`], length })),
  );
  const content = new Uint8Array(randomBytes(layout.totalLength));
  const hashes = new Uint8Array(layout.pieceCount * 20);
  for (let i = 0; i < layout.pieceCount; i++) {
    const piece = content.subarray(i * pieceLength, Math.min((i + 1) * pieceLength, content.length));
    hashes.set(createHash('sha1').update(piece).digest(), i * 20);
  }
  const infoHash = new Uint8Array(createHash('sha1').update(hashes).digest());
  const verify: VerifyPiece = async (index, data) =>
    Buffer.compare(
      createHash('sha1').update(data).digest(),
      Buffer.from(hashes.subarray(index * 20, index * 20 + 20)),
    ) === 0;
  return { layout, content, infoHash, hashes, verify };
}

/** A memory storage already holding the whole torrent (a seed). */
export async function fullStorage(t: TestTorrent): Promise<MemoryStorage> {
  const s = new MemoryStorage(t.layout);
  await s.write(0, t.content);
  return s;
}

export function peerId(n: number): Uint8Array {
  const id = new Uint8Array(20);
  id.set(new TextEncoder().encode(`-SC0001-${String(n).padStart(12, '0')}`));
  return id;
}

import { describe, expect, it } from 'vitest';
import type { PeerLink } from '../src/session/peer-link.ts';
import { SwarmPeer } from '../src/session/swarm-peer.ts';
import { Uploader } from '../src/session/uploader.ts';
import { makeLayout } from '../src/storage/layout.ts';
import { MemoryStorage } from '../src/storage/memory-storage.ts';
import type { Storage } from '../src/storage/storage.ts';

/**
 * The uploader reuses piece buffers once a block sent from them has left the transport. A
 * link here keeps every block it is given and releases it (`onWritten`) only later, as a
 * socket does; each block must still hold its piece's bytes when it is released, and buffers
 * must really be reused (reads into a given buffer happen) once released.
 */
describe('uploader piece buffers', () => {
  it('never overwrite a block the transport still holds, and are reused once released', async () => {
    const pieceLength = 32 * 1024;
    const pieces = 40; // five times the uploader's cache of 8
    const layout = makeLayout(pieceLength, [{ path: ['f'], length: pieceLength * pieces }]);
    const bytes = Uint8Array.from({ length: layout.totalLength }, (_, i) => (i * 31 + (i >> 13)) & 255);
    const memory = new MemoryStorage(layout);
    await memory.write(0, bytes);
    let readsInto = 0;
    const buffers = new Set<ArrayBufferLike>();
    const storage: Storage = Object.assign(Object.create(memory) as Storage, {
      readInto: async (offset: number, out: Uint8Array) => {
        readsInto++;
        buffers.add(out.buffer);
        out.fill(0xee); // a reused buffer's old bytes must not survive a read
        out.set(await memory.read(offset, out.length));
      },
    });
    const held: { index: number; begin: number; block: Uint8Array; release?: () => void }[] = [];
    const bad: string[] = [];
    const check = (h: (typeof held)[number]) => {
      const want = bytes.subarray(
        h.index * pieceLength + h.begin,
        h.index * pieceLength + h.begin + h.block.length,
      );
      if (!h.block.every((b, i) => b === want[i])) bad.push(`${h.index}/${h.begin}`);
    };
    const link = {
      bufferedAmount: 0,
      amChoking: false,
      uploadRate: () => 0,
      sendBlock(index: number, begin: number, block: Uint8Array, onWritten?: () => void): boolean {
        held.push({ index, begin, block, ...(onWritten ? { release: onWritten } : {}) });
        return true;
      },
      reject() {},
    } as unknown as PeerLink;
    const peer = new SwarmPeer('p', link, 0);
    const uploader = new Uploader(layout, () => storage, {
      have: () => true,
      now: () => 0,
      onViolation: () => {},
      onError: (e) => {
        throw e;
      },
    });
    const drained = () => new Promise((r) => setTimeout(r, 0));
    // rounds of requests over every piece; between rounds release what the "socket" held,
    // checking each block at its release, as the socket would read it
    for (let round = 0; round < 3; round++) {
      for (let p = 0; p < pieces; p++) {
        for (let b = 0; b < pieceLength; b += 16384) uploader.request(peer, p, b, 16384);
        if (p % 12 === 11 || p === pieces - 1) {
          while (peer.uploads.length > 0 || peer.serving) await drained();
          for (const h of held.splice(0)) {
            check(h);
            h.release?.();
          }
        }
      }
    }
    expect(bad).toEqual([]);
    expect(held).toEqual([]);
    // 120 piece reads, into a handful of buffers: the cache's 8 and those held until released
    expect(readsInto).toBe(3 * pieces);
    expect(buffers.size).toBeLessThanOrEqual(24);
  });
});

import { createHash } from 'node:crypto';
import type { Hasher } from '../hasher.ts';

/** Synchronous SHA-1 / SHA-256 through OpenSSL (SHA-NI where the CPU has it). */
export function sha1Sync(data: Uint8Array): Uint8Array {
  const d = createHash('sha1').update(data).digest();
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** SHA-1 of `data` written at `at` in `out` (a piece hash straight into the torrent's list). */
export function sha1Into(data: Uint8Array, out: Uint8Array, at: number): void {
  out.set(createHash('sha1').update(data).digest(), at);
}

/** SHA-256 of `data` written at `at` in `out`. */
export function sha256Into(data: Uint8Array, out: Uint8Array, at: number): void {
  out.set(createHash('sha256').update(data).digest(), at);
}

export function sha256Sync(data: Uint8Array): Uint8Array {
  const d = createHash('sha256').update(data).digest();
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** The Hasher for Node: node:crypto, answered without a trip through the event loop's queue. */
export const nodeHasher: Hasher = {
  sha1: async (data) => sha1Sync(data),
  sha256: async (data) => sha256Sync(data),
};

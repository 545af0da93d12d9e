/**
 * A seeded PRNG (mulberry32) for fuzz cases and simulations, so a failure can be replayed from
 * its printed seed. (The engine's simulator has its own in packages/bittorrent/src/timers.ts:
 * production code does not import the test kit.)
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

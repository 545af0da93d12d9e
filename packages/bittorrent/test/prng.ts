/** A small seeded PRNG (mulberry32) for property and fuzz tests: failures print their seed. */
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

/** The seed for this run: SEED from the environment, else a fresh one (printed by the test). */
export function testSeed(): number {
  const fromEnv = Number(process.env.SEED);
  return Number.isFinite(fromEnv) && process.env.SEED ? fromEnv : Math.floor(Math.random() * 2 ** 31);
}

export function randomBytes(rand: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rand() * 256);
  return out;
}

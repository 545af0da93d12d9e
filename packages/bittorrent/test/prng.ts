import { seededRandom } from '../src/index.ts';

/** The seeded PRNG of the core (mulberry32), for property and fuzz tests: failures print their seed. */
export const prng = seededRandom;

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

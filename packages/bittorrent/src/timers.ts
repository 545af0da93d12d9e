/**
 * Time seams for the core. The engine, the peer state machine and the simulator receive
 * these from their caller; nothing in the core calls Date.now() or setTimeout() itself.
 */

/** Milliseconds on a monotonic-enough clock (wall clock in production, virtual in the sim). */
export interface Clock {
  now(): number;
}

/** A cancellable timer handle. */
export interface TimerHandle {
  cancel(): void;
}

/** Schedules callbacks on the caller's notion of time. */
export interface Timers {
  /** Calls `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Calls `fn` every `ms` milliseconds until cancelled. */
  setInterval(fn: () => void, ms: number): TimerHandle;
}

/** A source of uniform random numbers in [0, 1) (seeded in tests and the simulator). */
export type Random = () => number;

/** Clock and timers on the real environment (works in browsers and Node). */
export const systemClock: Clock = { now: () => Date.now() };

export const systemTimers: Timers = {
  setTimeout(fn, ms) {
    const id = globalThis.setTimeout(fn, ms);
    return { cancel: () => globalThis.clearTimeout(id) };
  },
  setInterval(fn, ms) {
    const id = globalThis.setInterval(fn, ms);
    return { cancel: () => globalThis.clearInterval(id) };
  },
};

/**
 * A small seeded PRNG (mulberry32): deterministic sequences for tests, fuzzing, the picker's
 * tie-breaks and the simulator. Not for anything secret.
 */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

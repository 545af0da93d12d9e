import { describe, expect, it } from 'vitest';
import { MAX_BACKOFF_MS, MAX_FAILURES, PeerSet, REDIAL_MS } from '../src/session/peer-set.ts';

const a = { host: '127.0.0.1', port: 6881 };

/** Dials `a` whenever it is due, failing every time; returns the times of the dials. */
function failForever(set: PeerSet, untilMs: number): number[] {
  const at: number[] = [];
  for (let now = 0; now <= untilMs; now += 100) {
    for (const d of set.nextDials(now, 0)) {
      at.push(now);
      set.dialFailed(d, now);
    }
  }
  return at;
}

describe('PeerSet redial', () => {
  it('retries a refused dial with exponential back-off, bounded, then gives up', () => {
    const set = new PeerSet();
    set.add([a], 0);
    const at = failForever(set, 60 * 60_000);
    expect(at.length).toBe(MAX_FAILURES + 1);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    // 1 s, 2 s, 4 s ... doubling until the 60 s cap.
    expect(gaps).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60, 60].map((s) => s * 1000));
    expect(MAX_BACKOFF_MS).toBe(60_000);
    expect(set.candidateCount).toBe(0);
  });

  it('a connection that closes before its handshake counts as a failure; a useful one resets', () => {
    const set = new PeerSet();
    set.add([a], 0);
    const [d] = set.nextDials(0, 0);
    set.dialFailed(d!, 0);
    expect(set.nextDials(999, 0)).toEqual([]);
    expect(set.nextDials(1000, 0)).toEqual([a]);
    // Connected, then closed before the handshake: the second failure waits 2 s.
    expect(set.connectedTo(a)).toBe(true);
    set.disconnected(a, 1000, true, false);
    expect(set.nextDials(2999, 0)).toEqual([]);
    expect(set.nextDials(3000, 0)).toEqual([a]);
    // A useful connection resets the count: the next failure is back to 1 s.
    expect(set.connectedTo(a)).toBe(true);
    set.disconnected(a, 5000, true, true);
    expect(set.nextDials(5000 + REDIAL_MS - 1, 0)).toEqual([]);
    const t = 5000 + REDIAL_MS;
    expect(set.nextDials(t, 0)).toEqual([a]);
    set.dialFailed(a, t);
    expect(set.nextDials(t + 1000, 0)).toEqual([a]);
  });

  it('never redials a banned address, nor one closed without redial', () => {
    const set = new PeerSet();
    set.add([a], 0);
    set.nextDials(0, 0);
    expect(set.connectedTo(a)).toBe(true);
    set.disconnected(a, 0, false);
    expect(set.nextDials(10 * 60_000, 0)).toEqual([]);
    set.add([a], 0);
    set.nextDials(0, 0);
    set.ban(a);
    set.dialFailed(a, 0);
    expect(set.nextDials(10 * 60_000, 0)).toEqual([]);
    expect(set.add([a], 0)).toBe(0);
  });
});

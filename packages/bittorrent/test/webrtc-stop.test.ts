import { waitFor } from '@swarmcast/testkit';
import { cleanup } from 'node-datachannel';
import { describe, expect, it } from 'vitest';
import { answerOffer, cappedRtcFactory, createOffer, systemTimers, type Transport } from '../src/index.ts';
import { nodeRtcFactory } from '../src/node/index.ts';

/**
 * Stopping a process that served a WebRTC peer (issue: a node stopped in 10-12 s after a
 * browser left, with "cleanup timeout (possible deadlock)"). A connection whose remote closed
 * it ends in libdatachannel on its own, so node-datachannel stops tracking it, and its global
 * cleanup() then waits (10 s, blocking the event loop) for a native connection that only our
 * close() or a garbage collection frees. Real node-datachannel peers on 127.0.0.1; this file
 * runs in its own process (vitest forks), so the global cleanup touches nothing else.
 */
describe('a WebRTC connection the remote closed', () => {
  it('is closed here too, and libdatachannel cleans up at once', async () => {
    const factory = cappedRtcFactory(nodeRtcFactory({ bindAddress: '127.0.0.1' }), 10);
    const signalling = { factory, timers: systemTimers };
    const offer = await createOffer(signalling);
    const answered = await answerOffer(offer.offer, signalling);
    if ('error' in answered) throw new Error(answered.error.message);
    const [ours, theirs] = await Promise.all([offer.accept(answered.answer), answered.connected]);
    if (!ours.ok || !theirs.ok) throw new Error('no data channel on loopback');
    const received: Uint8Array[] = [];
    let ended = false;
    const start = (t: Transport, onData: (c: Uint8Array) => void, onClose: () => void) =>
      t.start({ data: onData, drain() {}, close: onClose });
    start(
      ours.transport,
      () => {},
      () => {
        ended = true;
      },
    );
    start(
      theirs.transport,
      (c) => received.push(c.slice()),
      () => {},
    );
    // Serve the peer something, as a seeder does.
    ours.transport.write(new Uint8Array(40_000).fill(7));
    await waitFor(() => received.reduce((n, c) => n + c.length, 0) === 40_000, 10_000, 'the bytes');
    expect(factory.open()).toBe(2);

    // The peer leaves (a browser tab closed): only its side closes.
    theirs.transport.close();
    await waitFor(() => ended, 10_000, 'our transport to see the remote close');
    // Our side closed its connection too: nothing of ours is left for cleanup to wait on.
    expect(ours.transport.closed).toBe(true);
    expect(factory.open()).toBe(0);

    // Give libdatachannel a moment to mark the connection closed natively (what made it
    // invisible to node-datachannel's own close-all), then stop its threads.
    await new Promise((r) => setTimeout(r, 500));
    const t0 = performance.now();
    expect(() => cleanup()).not.toThrow();
    expect(performance.now() - t0).toBeLessThan(3_000);
  }, 40_000);

  it('the factory closes what it made, failed connections included, and refuses new ones', () => {
    const made: { connectionState: string; closed: boolean }[] = [];
    const factory = cappedRtcFactory(() => {
      const pc = {
        connectionState: 'new',
        closed: false,
        close() {
          this.closed = true;
          this.connectionState = 'closed';
        },
      };
      made.push(pc);
      return pc as never;
    }, 5);
    factory();
    factory();
    factory();
    (made[1] as { connectionState: string }).connectionState = 'failed';
    expect(factory.live()).toBe(2);
    expect(factory.open()).toBe(3);
    factory.close();
    expect(made.map((pc) => pc.closed)).toEqual([true, true, true]);
    expect(factory.open()).toBe(0);
    expect(() => factory()).toThrow(/closed/);
  });
});

import { describe, expect, it } from 'vitest';
import { memoryTransportPair } from '../src/memory-transport.ts';
import { PeerConnectionLink } from '../src/peer/peer-connection-link.ts';
import type { PeerLinkEvents } from '../src/session/peer-link.ts';
import { systemClock, type Timers } from '../src/timers.ts';

/** Timers that only count what is running (nothing ever fires). */
function countingTimers(): Timers & { running: () => number } {
  let running = 0;
  const handle = () => {
    running++;
    let live = true;
    return {
      cancel() {
        if (live) running--;
        live = false;
      },
    };
  };
  return { setTimeout: handle, setInterval: handle, running: () => running };
}

const noop = (): PeerLinkEvents => ({
  ready() {},
  have() {},
  bitfield() {},
  choked() {},
  interested() {},
  block() {},
  requestEnded() {},
  request() {},
  cancel() {},
  peers() {},
  drain() {},
  closed() {},
});

function link(timers: Timers): PeerConnectionLink {
  const [t] = memoryTransportPair();
  return new PeerConnectionLink(
    t,
    {
      infoHash: new Uint8Array(20).fill(1),
      peerId: new Uint8Array(20).fill(2),
      clock: systemClock,
      timers,
      defer: (fn) => fn(),
      layout: { pieceCount: 4, pieceSize: () => 32768 },
    },
    undefined,
    { info: () => undefined, pex: true, pexPeers: () => [] },
  );
}

// A PEX timer left running keeps Node alive: `swarmcast get` never exited after `done`.
describe('PeerConnectionLink timers', () => {
  it('a link closed after it started leaves no timer running', () => {
    const timers = countingTimers();
    const l = link(timers);
    l.start(noop());
    expect(timers.running()).toBeGreaterThan(0);
    l.close();
    expect(timers.running()).toBe(0);
  });

  it('a link closed before it started never starts its PEX timer', () => {
    const timers = countingTimers();
    const l = link(timers);
    l.close();
    l.start(noop());
    expect(timers.running()).toBe(0);
  });
});

/**
 * A bound on live peer connections (browsers fail with "too many RTCPeerConnections" well
 * before the swarm runs out of peers, and each one costs a thread and sockets). Offers and
 * answers beyond the cap are refused; a connection stops counting once it is closed or
 * failed.
 *
 * It also knows every connection it made that was not closed yet, so its owner can close
 * them all when it stops: pending offers, negotiations still in flight and connections
 * handed to a session alike. In Node this matters: libdatachannel's global cleanup waits
 * for every native connection to be gone, and a failed connection is gone only once closed.
 */
import type { RtcFactory, RtcPeerConnectionLike } from './rtc-types.ts';

export interface CappedRtcFactory extends RtcFactory {
  /** Connections counted now (not closed or failed). */
  live(): number;
  /** Connections made and not closed yet (failed ones included). */
  open(): number;
  /** Closes every connection not closed yet and refuses new ones from now on. */
  close(): void;
}

const dead = new Set(['closed', 'failed']);

export function cappedRtcFactory(factory: RtcFactory, max: number): CappedRtcFactory {
  // Every connection made and not closed through its close(), failed ones included.
  const made = new Set<RtcPeerConnectionLike>();
  let closed = false;
  const live = () => {
    let n = 0;
    for (const pc of made) if (!dead.has(pc.connectionState)) n++;
    return n;
  };
  const capped = (() => {
    if (closed) throw new Error('the peer connection factory is closed');
    if (live() >= max) throw new Error(`at the cap of ${max} peer connections`);
    const pc = factory();
    made.add(pc);
    // close() may not fire a state change (the browser's does not): drop it at once.
    const close = pc.close.bind(pc);
    pc.close = () => {
      made.delete(pc);
      close();
    };
    return pc;
  }) as CappedRtcFactory;
  capped.live = live;
  capped.open = () => made.size;
  capped.close = () => {
    closed = true;
    for (const pc of [...made]) {
      try {
        pc.close();
      } catch {
        // A stack that throws on closing a failed connection: it is closed either way.
        made.delete(pc);
      }
    }
  };
  return capped;
}

/**
 * A bound on live peer connections (browsers fail with "too many RTCPeerConnections" well
 * before the swarm runs out of peers, and each one costs a thread and sockets). Offers and
 * answers beyond the cap are refused; a connection stops counting once it is closed or
 * failed.
 */
import type { RtcFactory, RtcPeerConnectionLike } from './rtc-types.ts';

export interface CappedRtcFactory extends RtcFactory {
  /** Connections counted now (not closed or failed). */
  live(): number;
}

const dead = new Set(['closed', 'failed']);

export function cappedRtcFactory(factory: RtcFactory, max: number): CappedRtcFactory {
  const made = new Set<RtcPeerConnectionLike>();
  const prune = () => {
    for (const pc of made) if (dead.has(pc.connectionState)) made.delete(pc);
  };
  const capped = (() => {
    prune();
    if (made.size >= max) throw new Error(`at the cap of ${max} peer connections`);
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
  capped.live = () => {
    prune();
    return made.size;
  };
  return capped;
}

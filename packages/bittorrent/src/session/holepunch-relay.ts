import { HOLEPUNCH_ERRORS, type HolepunchMessage } from '../extensions/ut-holepunch.ts';
import type { Clock } from '../timers.ts';
import { codedError, type Dialer, type PeerAddress, type Transport } from '../transport.ts';
import { dialableAddress } from './peer-addresses.ts';
import { addressKey } from './peer-set.ts';
import type { SwarmPeer } from './swarm-peer.ts';

export interface HolepunchDeps {
  readonly peers: ReadonlyMap<string, SwarmPeer>;
  readonly dialer: Dialer;
  readonly clock: Clock;
  readonly signal: AbortSignal;
  /** A connection made at a relay's word: handshake it as an outgoing peer. */
  attach(transport: Transport, dialed: PeerAddress): void;
  event(kind: 'relayed' | 'connect' | 'error', address: string, other?: string): void;
  closed(): boolean;
}

/**
 * BEP 55 hole punching, both roles: as a relay we introduce two of our peers to each other;
 * when our dial to an address learnt by PEX fails, we ask the peer that told us to introduce
 * us; when a relay tells us to, we dial at once (both ends' packets open their NATs).
 */
export class HolepunchRelay {
  /** PEX-learnt address -> key of the peer that told us (a relay for BEP 55). */
  private readonly relayOf = new Map<string, string>();
  /** When we last asked a relay about an address (one rendezvous a minute per address). */
  private readonly rendezvousAt = new Map<string, number>();

  constructor(private readonly deps: HolepunchDeps) {}

  /** Peer `from` told us these addresses (PEX). */
  learnt(found: readonly PeerAddress[], from: string): void {
    for (const a of found) this.relayOf.set(addressKey(a), from);
  }

  /** A dial failed: ask the peer that told us about the address to introduce us. */
  dialFailed(address: PeerAddress): void {
    if (this.deps.closed()) return;
    const k = addressKey(address);
    const relay = this.deps.peers.get(this.relayOf.get(k) ?? '');
    const now = this.deps.clock.now();
    if (!relay?.info || now - (this.rendezvousAt.get(k) ?? -Infinity) < 60_000) return;
    if (relay.link.sendHolepunch?.({ type: 'rendezvous', address, error: 0 })) this.rendezvousAt.set(k, now);
  }

  /** A BEP 55 message from peer `from`. */
  message(from: SwarmPeer, msg: HolepunchMessage): void {
    if (this.deps.closed()) return;
    const target = msg.address;
    if (msg.type === 'rendezvous') {
      const error = (code: number) =>
        from.link.sendHolepunch?.({ type: 'error', address: target, error: code });
      const self = dialableAddress(from);
      if (self && addressKey(self) === addressKey(target)) return void error(HOLEPUNCH_ERRORS.noSelf);
      const other = this.peerAt(target);
      if (!other || !self) return void error(HOLEPUNCH_ERRORS.notConnected);
      if (!other.link.sendHolepunch?.({ type: 'connect', address: self, error: 0 }))
        return void error(HOLEPUNCH_ERRORS.noSupport);
      from.link.sendHolepunch?.({ type: 'connect', address: target, error: 0 });
      this.deps.event('relayed', addressKey(self), addressKey(target));
    } else if (msg.type === 'connect') {
      // Both ends dial now: each one's packets open its own NAT for the other's.
      if (this.peerAt(target)) return;
      this.deps.event('connect', addressKey(target));
      void this.deps.dialer.dial(target, this.deps.signal).then((r) => {
        if (!r.ok) return;
        if (this.deps.closed()) r.transport.close(codedError('BT_SESSION_CLOSED', 'session closed'));
        else this.deps.attach(r.transport, target);
      });
    } else {
      this.deps.event('error', addressKey(target), String(msg.error));
    }
  }

  /** The connected peer (handshake done) that others reach at `address`, if any. */
  private peerAt(address: PeerAddress): SwarmPeer | undefined {
    const k = addressKey(address);
    for (const p of this.deps.peers.values()) {
      const a = p.info ? dialableAddress(p) : undefined;
      if (a && addressKey(a) === k) return p;
    }
    return undefined;
  }
}

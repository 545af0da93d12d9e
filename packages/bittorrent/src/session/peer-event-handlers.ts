import type { Clock } from '../timers.ts';
import { type CodedError, codedError, type PeerAddress } from '../transport.ts';
import type { Downloader } from './downloader.ts';
import type { HolepunchRelay } from './holepunch-relay.ts';
import type { PeerInterest } from './peer-interest.ts';
import type { PeerLinkEvents } from './peer-link.ts';
import type { RechokeSchedule } from './rechoke-schedule.ts';
import type { SwarmPeer } from './swarm-peer.ts';
import type { Uploader } from './uploader.ts';

export interface PeerEventDeps {
  readonly pieceCount: number;
  readonly clock: Clock;
  readonly peers: ReadonlyMap<string, SwarmPeer>;
  readonly downloader: Downloader;
  readonly uploader: Uploader;
  readonly interest: PeerInterest;
  readonly rechoke: RechokeSchedule;
  /** BEP 55, when on. */
  readonly holepunch: HolepunchRelay | undefined;
  drop(peer: SwarmPeer, reason: CodedError): void;
  /** Addresses a peer told us (PEX). */
  addPeers(found: readonly PeerAddress[]): void;
  /** Bytes of a block a peer sent us. */
  downloaded(bytes: number): void;
  closed(): boolean;
}

/**
 * What the session does with one peer's validated wire events (the link's `ready` and
 * `closed` are the lifecycle's): availability and interest from its pieces, requests from
 * unchokes and blocks, blocks to the downloader, its requests to the uploader, interest
 * changes to the choker, PEX and BEP 55 to their parts.
 */
export function peerEventHandlers(
  peer: SwarmPeer,
  deps: PeerEventDeps,
): Omit<PeerLinkEvents, 'ready' | 'closed'> {
  const { downloader, uploader, interest } = deps;
  const link = peer.link;
  return {
    have: (index) => {
      if (index < 0 || index >= deps.pieceCount) {
        deps.drop(peer, codedError('BT_PEER_BAD_HAVE', `have ${index} out of range`));
        return;
      }
      downloader.peerHas(index);
      if (!link.amInterested && downloader.state.wants(index)) interest.set(peer, true);
    },
    bitfield: (bits) => {
      downloader.peerBitfield(bits);
      interest.update(peer);
    },
    // Choked without BEP 6, our requests ended first (`requestEnded`, reason 'choked').
    choked: (choked) => {
      if (!choked) downloader.fill(peer);
    },
    // The link reports changes only. A newcomer should not wait up to 10 s for a slot while
    // slots are free, and a slot held by a peer that lost interest is idle upload capacity
    // until the next round.
    interested: (interested) => {
      if (interested || !link.amChoking) deps.rechoke.soon();
    },
    block: (index, begin, bytes) => {
      deps.downloaded(bytes.length);
      downloader.block(peer, index, begin, bytes, deps.clock.now(), deps.peers.values());
      if (!deps.closed() && deps.peers.get(peer.key) === peer) downloader.fill(peer);
    },
    requestEnded: (index, begin) => downloader.requestEnded(peer, index, begin),
    request: (index, begin, length) => uploader.request(peer, index, begin, length),
    cancel: (index, begin, length) => uploader.cancel(peer, index, begin, length),
    peers: (found) => {
      deps.holepunch?.learnt(found, peer.key);
      deps.addPeers(found);
    },
    holepunch: (msg) => deps.holepunch?.message(peer, msg),
    drain: () => uploader.pump(peer),
  };
}

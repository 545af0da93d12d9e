import type { Downloader } from './downloader.ts';
import type { SwarmPeer } from './swarm-peer.ts';

/** Whether we tell a peer we are interested: while it has a piece we still want. */
export class PeerInterest {
  constructor(
    private readonly downloader: Downloader,
    /** Every wanted piece is ours: interested in nobody. */
    private readonly done: () => boolean,
  ) {}

  /** Tells the peer when our interest in it changed. */
  update(peer: SwarmPeer): void {
    const want = !this.done() && this.downloader.wantsFrom(peer);
    if (want !== peer.link.amInterested) this.set(peer, want);
  }

  /** Tells the peer; once interested, asks it for blocks at once (if it unchokes us). */
  set(peer: SwarmPeer, interested: boolean): void {
    peer.link.interested(interested);
    if (interested) this.downloader.fill(peer);
  }
}

export { type HostileBehaviour, HostilePeer } from './hostile-peer.ts';
export {
  type FetchSpan,
  type SimPeerSpec,
  SimSwarm,
  type SimSwarmNode,
  type SimTorrent,
  type SimWebSeedSpec,
} from './sim-swarm.ts';
export { type LinkSpec, type SimNode, VirtualNetwork } from './virtual-network.ts';
export { VirtualTime } from './virtual-time.ts';

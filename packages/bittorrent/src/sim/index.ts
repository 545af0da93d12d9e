export { type HostileBehaviour, HostilePeer } from './hostile-peer.ts';
export { type SimPeerSpec, SimSwarm, type SimSwarmNode, type SimTorrent } from './sim-swarm.ts';
export { type LinkSpec, type SimNode, VirtualNetwork } from './virtual-network.ts';
export { VirtualTime } from './virtual-time.ts';

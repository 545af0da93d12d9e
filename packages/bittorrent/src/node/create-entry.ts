// "@swarmcast/bittorrent/create": torrent creation alone, for `swarmcast create`. Importing
// "@swarmcast/bittorrent/node" brings the whole engine (swarm node, DHT, transports: a 319 KB
// chunk of the CLI bundle whose loading cost ~85-110 ms of CPU per `swarmcast create`);
// this entry reaches only the create and hash path.
export { toHex } from '../bytes.ts';
export { formatMagnet } from '../magnet.ts';
export type { TorrentVersion } from '../metainfo/model.ts';
export { type CreatedTorrent, createTorrent } from './create-torrent.ts';
export type { HashProgress } from './hash-pool.ts';

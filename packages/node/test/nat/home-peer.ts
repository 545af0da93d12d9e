/**
 * One Node WebRTC engine in a home namespace of the NAT lab (run with
 * `ip netns exec <home> node --import tsx home-peer.ts '<json>'`): it fetches the episode's
 * .torrent and its ICE servers from the node like a page does (`/p2p/ice`), then seeds the
 * file it was given or downloads into a folder, meeting peers only through the node's
 * WebSocket tracker and WebRTC (node-datachannel with those ICE servers). It prints JSON
 * lines: `ready`, then for a download `done` (sha256 of the file, bytes, web seed use),
 * and `pairs` (the selected ICE candidate pair types of each connection: host, srflx,
 * prflx or relay) on `report` from stdin.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cappedRtcFactory, systemTimers, WebSocketTrackerClient } from '@swarmcast/bittorrent';
import {
  downloadTorrent,
  nativeIceServers,
  nodeWebSocket,
  seedTorrent,
  type TorrentHandle,
} from '@swarmcast/bittorrent/node';
import { initLogger, PeerConnection } from 'node-datachannel';
import { RTCPeerConnection } from 'node-datachannel/polyfill';

interface Args {
  role: 'seed' | 'leech';
  torrentUrl: string;
  iceUrl: string;
  wsUrl: string;
  /** seed: the file; leech: the folder to download into. */
  path: string;
  policy?: 'all' | 'relay';
  /** leech: use the torrent's web seeds too. */
  webSeeds?: boolean;
}

// Diagnostics: libdatachannel's own log on stderr.
if (process.env.SWARMCAST_LAB_DEBUG)
  initLogger('Info', (level, message) => process.stderr.write(`${level} ${message}\n`));

const a = JSON.parse(process.argv[2] ?? '{}') as Args;
const say = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);

const torrent = new Uint8Array(await (await fetch(a.torrentUrl)).arrayBuffer());
const ice = (await (await fetch(a.iceUrl)).json()) as { iceServers: never[] };
const natives: PeerConnection[] = [];
let n = 0;
// Capped like a page's (12 peer connections): each one holds a TURN allocation, and coturn
// bounds allocations per credential (user-quota).
const factory = cappedRtcFactory(() => {
  const native = new PeerConnection(`lab-${++n}`, {
    iceServers: nativeIceServers(ice.iceServers),
    ...(a.policy === 'relay' ? { iceTransportPolicy: 'relay' as const } : {}),
  });
  natives.push(native);
  return new RTCPeerConnection({ iceServers: [], peerConnection: native } as never) as never;
}, 12);

const handle: TorrentHandle =
  a.role === 'seed'
    ? await seedTorrent({ torrent, dataPath: a.path, host: '0.0.0.0' })
    : await downloadTorrent({ torrent, dir: a.path, host: '0.0.0.0', webSeeds: a.webSeeds ?? false });
const client = new WebSocketTrackerClient({
  url: a.wsUrl,
  infoHash: Buffer.from(handle.infoHash, 'hex'),
  peerId: handle.node.peerId,
  webSocket: nodeWebSocket,
  signalling: { factory, timers: systemTimers },
  timers: systemTimers,
  randomBytes: (k) => new Uint8Array(randomBytes(k)),
  stats: () => handle.session.transferStats(),
  onTransport: (t) => {
    if (process.env.SWARMCAST_LAB_DEBUG) say({ event: 'transport' });
    handle.session.addIncoming(t);
  },
  onEvent: (e) => {
    if (e.type === 'warning') say({ event: 'warning', message: `${e.error.code} ${e.error.message}` });
  },
});
handle.session.on('warning', (e) => say({ event: 'warning', message: `${e.code} ${e.message}` }));
client.start();
if (process.env.SWARMCAST_LAB_DEBUG) {
  setInterval(() => say({ event: 'stats', ...handle.stats() }), 5000).unref();
}
say({ event: 'ready', infoHash: handle.infoHash });

const pairs = () =>
  natives.flatMap((pc) => {
    try {
      const p = pc.getSelectedCandidatePair();
      return p ? [{ local: p.local.type, remote: p.remote.type, remoteAddress: p.remote.address }] : [];
    } catch {
      return [];
    }
  });

if (a.role === 'leech') {
  const finished = () =>
    readFile(join(a.path, handle.meta.name)).then((bytes) =>
      say({
        event: 'done',
        sha256: createHash('sha256').update(bytes).digest('hex'),
        downloaded: handle.stats().downloaded,
        peers: handle.stats().peers,
        pairs: pairs(),
      }),
    );
  if (handle.session.isDone) await finished();
  else handle.session.on('done', () => void finished());
}

// The test asks for a report (bytes uploaded, candidate pairs) and for the end.
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'report') say({ event: 'report', uploaded: handle.stats().uploaded, pairs: pairs() });
  if (line === 'stop') break;
}
await client.stop();
await handle.close();
process.exit(0);

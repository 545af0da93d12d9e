import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { toHex } from '../bytes.ts';
import type { PeerSource } from '../discovery/peer-source.ts';
import { parseMagnet } from '../magnet.ts';
import type { Metainfo } from '../metainfo/model.ts';
import { parseTorrent } from '../metainfo/parse.ts';
import type { EncryptionMode } from '../mse/mse-handshake.ts';
import { layoutOf } from '../session/from-metainfo.ts';
import type { SessionStats, TorrentSession } from '../session/torrent-session.ts';
import type { PeerAddress } from '../transport.ts';
import type { DhtNode } from './dht.ts';
import { FileStorage } from './file-storage.ts';
import { nodeHasher } from './hasher.ts';
import { fetchMagnetMetadata } from './magnet-metadata.ts';
import type { PortMappingOptions } from './port-mapping.ts';
import { type PeerTransportKind, SwarmNode } from './swarm-node.ts';

/** A running seed or download. */
export interface TorrentHandle {
  readonly session: TorrentSession;
  readonly node: SwarmNode;
  readonly meta: Metainfo;
  /** Hex of the 20-byte id peers and trackers know the torrent by. */
  readonly infoHash: string;
  /** TCP port peers reach us on. */
  readonly port: number;
  stats(): SessionStats;
  /** Stops the session (and the node, when the handle made its own). */
  close(): Promise<void>;
}

export interface SeedOptions {
  /** The .torrent bytes, a parsed Metainfo, or the path of a .torrent file. */
  readonly torrent: Uint8Array | Metainfo | string;
  /**
   * Where the data is: for a single-file torrent the file itself or the folder holding it; for
   * a multi-file torrent the torrent's folder or the folder holding it.
   */
  readonly dataPath: string;
  /** TCP port (default any free port); ignored when `node` is given. */
  readonly port?: number;
  readonly host?: string;
  /** Peers to dial (e.g. a client that cannot dial us, such as Transmission on loopback). */
  readonly peers?: readonly PeerAddress[];
  /** Share one node (one port) between many seeds. */
  readonly node?: SwarmNode;
  /** Upload cap in bytes/s (default none). */
  readonly uploadRateLimit?: number;
  /** The data was hashed into this torrent moments ago: skip the start-up check (SwarmNode). */
  readonly dataVerified?: boolean;
  /** Protocol encryption when the handle makes its own node (default `prefer`; see SwarmNode). */
  readonly encryption?: EncryptionMode;
  /** TCP and/or uTP, in dial order, when the handle makes its own node (default TCP; see SwarmNode). */
  readonly transports?: readonly PeerTransportKind[];
  /** Local Service Discovery (BEP 14) when the handle makes its own node (default off; see SwarmNode). */
  readonly lsd?: boolean;
  /** Ask the home router to forward our port (NAT-PMP, UPnP IGD) when the handle makes its own node. */
  readonly portMapping?: boolean | PortMappingOptions;
}

/**
 * Seeds a torrent from data on disk: every piece is verified first (pieces that fail are not
 * offered; `dataVerified` skips this for data the caller just hashed), then peers are served.
 * Resolves once the check is done and peers are accepted.
 */
export async function seedTorrent(options: SeedOptions): Promise<TorrentHandle> {
  const meta = await loadTorrent(options.torrent);
  const storage = await storageForData(meta, options.dataPath);
  return start(meta, storage, options);
}

export interface DownloadOptions {
  /**
   * The .torrent bytes, a parsed Metainfo, the path of a .torrent file, or a magnet link
   * ("magnet:?xt=..."; the info dict is fetched from peers first, BEP 9).
   */
  readonly torrent: Uint8Array | Metainfo | string;
  /** Folder to download into (the torrent's name is created inside it). */
  readonly dir: string;
  readonly port?: number;
  readonly host?: string;
  readonly peers?: readonly PeerAddress[];
  /** File indices to download (default all). */
  readonly files?: readonly number[];
  readonly node?: SwarmNode;
  /** A DHT node to find peers through (when the handle makes its own node). */
  readonly dht?: DhtNode;
  /** Use the torrent's web seeds (default true). */
  readonly webSeeds?: boolean;
  /** Cancels the metadata fetch of a magnet link. */
  readonly signal?: AbortSignal;
  /** Non-fatal problems before the session exists (a magnet's tracker failing). */
  readonly onWarning?: (e: { code: string; message: string }) => void;
  /** Protocol encryption when the handle makes its own node (default `prefer`; see SwarmNode). */
  readonly encryption?: EncryptionMode;
  /** TCP and/or uTP, in dial order, when the handle makes its own node (default TCP; see SwarmNode). */
  readonly transports?: readonly PeerTransportKind[];
  /** Local Service Discovery (BEP 14) when the handle makes its own node (default off; see SwarmNode). */
  readonly lsd?: boolean;
  /** Ask the home router to forward our port (NAT-PMP, UPnP IGD) when the handle makes its own node. */
  readonly portMapping?: boolean | PortMappingOptions;
}

/**
 * Starts downloading; `session.on('done')` fires when every selected piece is verified on
 * disk. For a magnet link it resolves after the metadata arrived and the session started.
 */
export async function downloadTorrent(options: DownloadOptions): Promise<TorrentHandle> {
  const own = !options.node;
  const node =
    options.node ??
    new SwarmNode({
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.host ? { host: options.host } : {}),
      ...(options.dht ? { dht: options.dht } : {}),
      ...(options.encryption ? { encryption: options.encryption } : {}),
      ...(options.transports ? { transports: options.transports } : {}),
      ...(options.lsd ? { lsd: true } : {}),
      ...(options.portMapping ? { portMapping: options.portMapping } : {}),
    });
  if (own) await node.start();
  try {
    let meta: Metainfo;
    let sources: readonly PeerSource[] | undefined;
    let peers = options.peers ?? [];
    if (typeof options.torrent === 'string' && /^magnet:/i.test(options.torrent)) {
      const m = parseMagnet(options.torrent);
      if (!m.ok) throw Object.assign(new Error(m.error.message), { code: m.error.code });
      const got = await fetchMagnetMetadata(node, m.value, {
        peers,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onWarning ? { onWarning: options.onWarning } : {}),
      });
      meta = got.meta;
      sources = got.sources;
      peers = [...peers, ...got.peers];
    } else {
      meta = await loadTorrent(options.torrent);
    }
    const storage = new FileStorage(layoutFor(meta), { dir: options.dir });
    await storage.createEmptyFiles();
    const wanted = options.files ? wantedPieces(storage.layout, options.files) : undefined;
    return await start(meta, storage, {
      peers,
      node,
      own,
      ...(wanted ? { wanted } : {}),
      ...(sources ? { sources } : {}),
      ...(options.webSeeds === false ? { webSeeds: false } : {}),
    });
  } catch (err) {
    if (own) await node.close();
    throw err;
  }
}

/** Pieces that hold bytes of the selected files. */
function wantedPieces(layout: FileStorage['layout'], files: readonly number[]): (piece: number) => boolean {
  const set = new Set(files);
  const pieces = new Uint8Array(layout.pieceCount);
  layout.files.forEach((f, i) => {
    if (!set.has(i) || f.pad || f.length === 0) return;
    for (let p = Math.floor(f.offset / layout.pieceLength); p * layout.pieceLength < f.offset + f.length; p++)
      pieces[p] = 1;
  });
  return (p) => pieces[p] === 1;
}

async function start(
  meta: Metainfo,
  storage: FileStorage,
  options: {
    port?: number;
    host?: string;
    peers?: readonly PeerAddress[];
    node?: SwarmNode;
    /** True when `node` was made for this handle (closed with it). */
    own?: boolean;
    wanted?: (p: number) => boolean;
    uploadRateLimit?: number;
    encryption?: EncryptionMode;
    transports?: readonly PeerTransportKind[];
    lsd?: boolean;
    portMapping?: boolean | PortMappingOptions;
    sources?: readonly PeerSource[];
    webSeeds?: boolean;
    dataVerified?: boolean;
  },
): Promise<TorrentHandle> {
  const own = options.own ?? !options.node;
  const node =
    options.node ??
    new SwarmNode({
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.host ? { host: options.host } : {}),
      ...(options.encryption ? { encryption: options.encryption } : {}),
      ...(options.transports ? { transports: options.transports } : {}),
      ...(options.lsd ? { lsd: true } : {}),
      ...(options.portMapping ? { portMapping: options.portMapping } : {}),
    });
  if (!options.node) await node.start();
  try {
    const session = await node.add(meta, {
      storage,
      ...(options.peers ? { peers: options.peers } : {}),
      ...(options.wanted ? { wanted: options.wanted } : {}),
      ...(options.uploadRateLimit ? { uploadRateLimit: options.uploadRateLimit } : {}),
      ...(options.sources ? { sources: options.sources } : {}),
      ...(options.webSeeds === false ? { webSeeds: false } : {}),
      ...(options.dataVerified ? { dataVerified: true } : {}),
    });
    return {
      session,
      node,
      meta,
      infoHash: toHex(session.infoHash),
      port: node.port,
      stats: () => session.stats(),
      close: async () => {
        await node.remove(session);
        if (own) await node.close();
      },
    };
  } catch (err) {
    if (!options.node) await node.close();
    throw err;
  }
}

/** Reads and parses a torrent; a bad torrent throws an Error with the BT_ code in `code`. */
export async function loadTorrent(torrent: Uint8Array | Metainfo | string): Promise<Metainfo> {
  if (!(torrent instanceof Uint8Array) && typeof torrent !== 'string') return torrent;
  const bytes = typeof torrent === 'string' ? new Uint8Array(await readFile(torrent)) : torrent;
  const parsed = await parseTorrent(bytes, nodeHasher);
  if (!parsed.ok) throw Object.assign(new Error(parsed.error.message), { code: parsed.error.code });
  return parsed.value;
}

function layoutFor(meta: Metainfo) {
  return layoutOf(meta);
}

/** Storage over existing data, accepting the data path forms `seed` documents. */
async function storageForData(meta: Metainfo, dataPath: string): Promise<FileStorage> {
  const layout = layoutFor(meta);
  const st = await stat(dataPath);
  if (meta.singleFile && st.isFile()) {
    return new FileStorage(layout, { dir: dirname(dataPath), readOnly: true, pathOf: () => dataPath });
  }
  // A folder: either the torrent's own folder (or file's folder), or the one holding it.
  const inside = await stat(`${dataPath}/${meta.name}`).then(
    () => true,
    () => false,
  );
  if (meta.singleFile) return new FileStorage(layout, { dir: dataPath, readOnly: true });
  // Multi-file: the folder given is the torrent's folder, whatever its name.
  const root = inside ? join(dataPath, meta.name) : dataPath;
  return new FileStorage(layout, {
    dir: root,
    readOnly: true,
    pathOf: (f) => join(root, ...f.path.slice(1)),
  });
}

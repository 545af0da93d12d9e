import { PeerConnectionLink } from '../peer/peer-connection-link.ts';
import type { VerifyPiece } from '../session/piece-verification.ts';
import { TorrentSession } from '../session/torrent-session.ts';
import { pieceSize, type StorageLayout } from '../storage/layout.ts';
import { MemoryStorage } from '../storage/memory-storage.ts';
import { seededRandom } from '../timers.ts';
import type { CodedError, PeerAddress, Transport } from '../transport.ts';
import { type HostileBehaviour, HostilePeer } from './hostile-peer.ts';
import { type LinkSpec, type SimNode, VirtualNetwork } from './virtual-network.ts';
import { VirtualTime } from './virtual-time.ts';

/** One of our nodes in a simulated swarm. */
export interface SimPeerSpec {
  readonly name: string;
  /** Starts with the whole content. */
  readonly seed: boolean;
  readonly link: LinkSpec;
  /** Regular upload slots of its choker (default 4). */
  readonly uploadSlots?: number;
  /** Most bytes its uploader keeps queued per peer (the session's default otherwise). */
  readonly sendBuffer?: number;
}

/** The torrent every node shares. */
export interface SimTorrent {
  readonly infoHash: Uint8Array;
  readonly layout: StorageLayout;
  readonly content: Uint8Array;
  /** Injected so the core stays free of a crypto implementation. */
  readonly verifyPiece: VerifyPiece;
  /** The bencoded info dictionary, when nodes should serve it over ut_metadata (BEP 9). */
  readonly info?: Uint8Array;
}

/** A node's session and what the harness recorded about it. */
export interface SimSwarmNode {
  readonly spec: SimPeerSpec;
  readonly address: PeerAddress;
  readonly net: SimNode;
  readonly session: TorrentSession;
  readonly storage: MemoryStorage;
  /** Virtual time at which it had every piece (undefined while not done). */
  doneAt: number | undefined;
  /** Verified pieces in the order they completed, with their virtual time. */
  readonly pieces: Array<{ index: number; at: number }>;
  readonly banned: Array<{ key: string; reason: CodedError }>;
  readonly closed: Array<{ key: string; reason: CodedError | undefined }>;
}

/**
 * A deterministic swarm of our TorrentSessions on a {@link VirtualNetwork}, in
 * {@link VirtualTime}: the same seed gives the same run. Nodes listen on 10.0.0.N:6881.
 */
export class SimSwarm {
  readonly time = new VirtualTime();
  readonly net: VirtualNetwork;
  readonly nodes: SimSwarmNode[] = [];

  constructor(
    readonly seed: number,
    readonly torrent: SimTorrent,
  ) {
    this.net = new VirtualNetwork(this.time, seededRandom(seed));
  }

  /** Creates and starts the sessions of `specs`. */
  async addNodes(specs: readonly SimPeerSpec[]): Promise<SimSwarmNode[]> {
    const added: SimSwarmNode[] = [];
    for (const spec of specs) {
      const n = this.nodes.length + added.length + 1;
      const address = { host: `10.0.${n >> 8}.${n & 255}`, port: 6881 };
      const net = this.net.addNode(address.host, address.port, spec.link);
      const storage = new MemoryStorage(this.torrent.layout);
      if (spec.seed) await storage.write(0, this.torrent.content);
      const peerId = new Uint8Array(20);
      peerId.set(new TextEncoder().encode(`-SC0001-sim${String(n).padStart(9, '0')}`));
      const layout = this.torrent.layout;
      const session = new TorrentSession({
        infoHash: this.torrent.infoHash,
        peerId,
        layout,
        storage,
        verifyPiece: this.torrent.verifyPiece,
        clock: this.time,
        timers: this.time,
        random: seededRandom(this.seed * 1000 + n),
        dialer: this.net.dialer(net),
        uploadSlots: spec.uploadSlots,
        sendBuffer: spec.sendBuffer,
        linkFactory: (transport: Transport) =>
          new PeerConnectionLink(
            transport,
            {
              infoHash: this.torrent.infoHash,
              peerId,
              clock: this.time,
              timers: this.time,
              defer: this.time.defer,
              layout: { pieceCount: layout.pieceCount, pieceSize: (i) => pieceSize(layout, i) },
            },
            (i) => session.hasPiece(i),
            { info: () => this.torrent.info, pex: false },
          ),
      });
      const node: SimSwarmNode = {
        spec,
        address,
        net,
        session,
        storage,
        doneAt: undefined,
        pieces: [],
        banned: [],
        closed: [],
      };
      session.on('piece', (index) => node.pieces.push({ index, at: this.time.now() }));
      session.on('done', () => {
        node.doneAt ??= this.time.now();
      });
      session.on('peerBanned', (key, reason) => node.banned.push({ key, reason }));
      session.on('peerClosed', (key, reason) => node.closed.push({ key, reason }));
      net.accept = (t) => session.addIncoming(t);
      added.push(node);
    }
    this.nodes.push(...added);
    for (const node of added) await node.session.start();
    for (const node of added) if (node.session.isDone) node.doneAt ??= this.time.now();
    return added;
  }

  /**
   * Adds a scripted hostile peer that our nodes can dial (pass its address to
   * `introduceAll`). Every connection made to it gets its own {@link HostilePeer}.
   */
  addHostile(behaviour: HostileBehaviour, link: LinkSpec): { address: PeerAddress; peers: HostilePeer[] } {
    const n = 200 + this.hostileCount++;
    const address = { host: `10.66.0.${n}`, port: 6881 };
    const net = this.net.addNode(address.host, address.port, link);
    const peers: HostilePeer[] = [];
    const peerId = new Uint8Array(20).fill(n);
    const random = seededRandom(this.seed * 7919 + n);
    net.accept = (t) => {
      const peer = new HostilePeer(t, {
        behaviour,
        infoHash: this.torrent.infoHash,
        peerId,
        pieceCount: this.torrent.layout.pieceCount,
        pieceLength: this.torrent.layout.pieceLength,
        time: this.time,
        random,
        content: this.torrent.content,
      });
      peers.push(peer);
      peer.start();
    };
    return { address, peers };
  }

  private hostileCount = 0;

  node(name: string): SimSwarmNode {
    const n = this.nodes.find((x) => x.spec.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /**
   * Tells each node about the nodes added before it (and `extra` addresses), as a tracker
   * would over time (one direction, so each pair has one connection from the start).
   */
  introduceAll(extra: readonly PeerAddress[] = []): void {
    this.nodes.forEach((n, i) => {
      n.session.addPeers([...this.nodes.slice(0, i).map((o) => o.address), ...extra]);
    });
  }

  /** Runs until every non-seed node is done, or `maxMs` of virtual time; true when all done. */
  runUntilAllDone(maxMs: number): Promise<boolean> {
    return this.time.runUntilAsync(() => this.nodes.every((n) => n.doneAt !== undefined), maxMs);
  }

  /** Runs until `done()` or `maxMs` of virtual time. */
  runUntil(done: () => boolean, maxMs: number): Promise<boolean> {
    return this.time.runUntilAsync(done, maxMs);
  }

  async close(): Promise<void> {
    for (const n of this.nodes) await n.session.close();
  }
}

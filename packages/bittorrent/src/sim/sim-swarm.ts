import type { Result } from '../errors.ts';
import { PeerConnectionLink } from '../peer/peer-connection-link.ts';
import type { PeerLinkEvents } from '../session/peer-link.ts';
import type { VerifyPiece } from '../session/piece-verification.ts';
import { TorrentSession } from '../session/torrent-session.ts';
import type { PieceSource } from '../session/web-seed-downloads.ts';
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
  /** A web seed (BEP 19) of the whole content for this node's session, in virtual time. */
  readonly webSeed?: SimWebSeedSpec;
}

/** A simulated HTTP web seed: each piece takes `latencyMs` plus its bytes at `bytesPerSecond`. */
export interface SimWebSeedSpec {
  readonly latencyMs: number;
  readonly bytesPerSecond: number;
}

/** A span of virtual time during which `piece` was being fetched from one source. */
export interface FetchSpan {
  readonly piece: number;
  readonly from: number;
  readonly to: number;
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
  /**
   * Each of its block requests to a peer, from sent to settled (block, reject, choke,
   * timeout, close or our cancel). Open requests are not listed until they end.
   */
  readonly peerRequests: FetchSpan[];
  /** Each fetch from a web seed (its own session's, or a caller's through `webSeedFetch`). */
  readonly webSeedFetches: FetchSpan[];
  /** A simulated web seed's fetch of one piece for callers other than the session (a player). */
  webSeedFetch(piece: number): Promise<Uint8Array>;
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
      const peerRequests: FetchSpan[] = [];
      const webSeedFetches: FetchSpan[] = [];
      const webSeedFetch = async (piece: number): Promise<Uint8Array> => {
        const from = this.time.now();
        const size = pieceSize(layout, piece);
        const w = spec.webSeed ?? { latencyMs: 50, bytesPerSecond: 1_000_000 };
        await new Promise<void>((r) =>
          this.time.setTimeout(r, w.latencyMs + Math.ceil((size * 1000) / w.bytesPerSecond)),
        );
        webSeedFetches.push({ piece, from, to: this.time.now() });
        const at = piece * layout.pieceLength;
        return this.torrent.content.slice(at, at + size);
      };
      const webSeed: PieceSource = {
        url: `http://web-seed-${n}.sim/`,
        fetchPiece: async (piece): Promise<Result<Uint8Array>> => ({
          ok: true,
          value: await webSeedFetch(piece),
        }),
      };
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
        ...(spec.webSeed ? { webSeeds: [webSeed] } : {}),
        linkFactory: (transport: Transport) =>
          new RecordingLink(
            () => this.time.now(),
            peerRequests,
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
        peerRequests,
        webSeedFetches,
        webSeedFetch,
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

/**
 * The codec link, recording each request's span (sent to settled) for tests of who fetched
 * what when (web seed and peers never on one piece at once).
 */
class RecordingLink extends PeerConnectionLink {
  private readonly open = new Map<number, number>();

  constructor(
    private readonly now: () => number,
    private readonly spans: FetchSpan[],
    ...args: ConstructorParameters<typeof PeerConnectionLink>
  ) {
    super(...args);
  }

  override request(index: number, begin: number, length: number): boolean {
    const sent = super.request(index, begin, length);
    if (sent) this.open.set(index * 2 ** 32 + begin, this.now());
    return sent;
  }

  override cancel(index: number, begin: number, length: number): void {
    this.settle(index, begin);
    super.cancel(index, begin, length);
  }

  override start(events: PeerLinkEvents): void {
    super.start({
      ...events,
      block: (index, begin, bytes) => {
        this.settle(index, begin);
        events.block(index, begin, bytes);
      },
      requestEnded: (index, begin, length, reason) => {
        this.settle(index, begin);
        events.requestEnded(index, begin, length, reason);
      },
    });
  }

  private settle(index: number, begin: number): void {
    const k = index * 2 ** 32 + begin;
    const from = this.open.get(k);
    if (from === undefined) return;
    this.open.delete(k);
    this.spans.push({ piece: index, from, to: this.now() });
  }
}

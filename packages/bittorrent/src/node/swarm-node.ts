import { randomBytes } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { bytesEqual, toHex } from '../bytes.ts';
import type { PeerSource, TransferStats } from '../discovery/peer-source.ts';
import { HashServer } from '../extensions/bep-0052-hashes.ts';
import type { Metainfo } from '../metainfo/model.ts';
import { acceptMse, type EncryptionMode, initiateMse } from '../mse/mse-handshake.ts';
import { layoutOf, verifierOf, wireInfoHashes } from '../session/from-metainfo.ts';
import { routeIncoming } from '../session/handshake-router.ts';
import { TorrentSession } from '../session/torrent-session.ts';
import type { Storage } from '../storage/storage.ts';
import { seededRandom, systemClock, systemTimers } from '../timers.ts';
import {
  type CodedError,
  codedError,
  type Dialer,
  type DialResult,
  type PeerAddress,
  type Transport,
} from '../transport.ts';
import { WebSeed } from '../webseed.ts';
import type { DhtNode } from './dht.ts';
import { nodeHasher } from './hasher.ts';
import { LsdNode, type LsdOptions } from './lsd.ts';
import { nodeMseCrypto } from './mse-crypto.ts';
import { PortMapper, type PortMappingOptions } from './port-mapping.ts';
import { dialTcp, listenTcp, type TcpListener } from './tcp-transport.ts';
import { trackerSources } from './tracker-sources.ts';
import { openUtp, type UtpEndpoint } from './utp-transport.ts';

/** A byte transport to native peers: TCP, or uTP (BEP 29) over UDP. */
export type PeerTransportKind = 'tcp' | 'utp';

export interface SwarmNodeOptions {
  /** TCP port to accept peers on (0: any free port). */
  readonly port?: number;
  /** Address to listen on (default every IPv6 and IPv4 address). */
  readonly host?: string;
  /** Our 20-byte peer id (default "-SC0001-" and 12 random bytes). */
  readonly peerId?: Uint8Array;
  /** A DHT node to find peers through (and announce to) for non-private torrents. */
  readonly dht?: DhtNode;
  /** DHT: delay before looking a torrent up again while no peer was found (default 15 min). */
  readonly dhtRetryMs?: number;
  /** Announce to the torrent's trackers (default true). */
  readonly trackers?: boolean;
  /**
   * Protocol encryption (MSE/PE) for TCP peers: `prefer` (default) accepts plain and encrypted
   * peers and dials encrypted first (plain again if the peer does not speak it); `require`
   * speaks RC4-encrypted streams only, both ways; `off` speaks plain BitTorrent only.
   */
  readonly encryption?: EncryptionMode;
  /**
   * Transports to accept peers on and to dial them with, in the order dials try them (the
   * next one when a dial fails). Default `['tcp']`. With `utp` the node also listens for uTP
   * on the UDP port of the same number as its TCP port (where libtorrent looks for it); a
   * list of `['utp']` alone speaks uTP only. MSE applies over either.
   */
  readonly transports?: readonly PeerTransportKind[];
  /** Give up a uTP dial after this long (default 5 s; then the next transport is tried). */
  readonly utpDialTimeoutMs?: number;
  /**
   * Local Service Discovery (BEP 14): announce public torrents to the LAN by multicast and
   * meet neighbours in them with no tracker. Default off; `true` uses `host` (when IPv4) as
   * the interface.
   */
  readonly lsd?: boolean | LsdOptions;
  /**
   * Ask the home router (NAT-PMP, the default gateway) to forward our port: TCP, and UDP too
   * when uTP is on. Default off (a server has no such router); `swarmcast get --seed` turns it
   * on. Failure is not fatal: see `portMapper.errors`.
   */
  readonly portMapping?: boolean | PortMappingOptions;
  /**
   * Inbound connections (TCP and uTP) held at most while they have not yet sent a handshake
   * for one of our torrents (MSE included): more are closed at once, so a flood of idle
   * sockets cannot take every file descriptor. Default 200.
   */
  readonly maxHandshaking?: number;
  /**
   * Of those, at most this many from one address (IPv6: one /64), so a single host's flood
   * cannot take the whole `maxHandshaking` budget and lock every other peer out. Loopback
   * counts too (an honest peer's handshake is a few milliseconds; only a flood waits). Default 16.
   */
  readonly maxHandshakingPerAddress?: number;
  /** An inbound connection with no handshake for one of our torrents after this long is closed (default 10 s). */
  readonly handshakeTimeoutMs?: number;
}

export interface AddTorrentOptions {
  readonly storage: Storage;
  /** Pieces to download (file selection); default all. */
  readonly wanted?: (piece: number) => boolean;
  /** Peers to dial at once. */
  readonly peers?: readonly PeerAddress[];
  /** Upload cap in bytes/s (default none). */
  readonly uploadRateLimit?: number;
  /** Fetch pieces from the torrent's web seeds, `url-list` (default true). */
  readonly webSeeds?: boolean;
  /**
   * Peer sources already running for this torrent (a magnet's trackers during the metadata
   * fetch), used instead of new ones so trackers see one `started`.
   */
  readonly sources?: readonly PeerSource[];
  /**
   * The caller hashed exactly these bytes moments ago (the torrent was just made from this
   * file): the start-up check trusts the data on disk instead of hashing all of it again.
   * Pieces received later are verified as always.
   */
  readonly dataVerified?: boolean;
}

/**
 * The Node host of torrent sessions: one TCP listener shared by every torrent (incoming
 * connections are routed by the info-hash in their handshake), a TCP dialer, the real clock
 * and OpenSSL hashing. `seedTorrent` / `downloadTorrent` (api.ts) are built on it.
 */
export class SwarmNode {
  readonly peerId: Uint8Array;
  private readonly sessions = new Map<string, TorrentSession>();
  private listener: TcpListener | undefined;
  private utp: UtpEndpoint | undefined;
  /** Why uTP is not running although asked for beside TCP (its UDP port could not be bound). */
  utpError: string | undefined;
  private lsdNode: LsdNode | undefined;
  /** The router's port mappings, when `portMapping` is on. */
  portMapper: PortMapper | undefined;

  /** The transports of this node, in dial order. */
  get transports(): readonly PeerTransportKind[] {
    const t = this.options.transports ?? ['tcp'];
    return t.length ? t : ['tcp'];
  }

  /** Dials each transport in turn until one connects (uTP only to IPv4 peers). */
  private readonly plainDialer: Dialer = {
    dial: async (address, signal) => {
      let last: DialResult | undefined;
      for (const kind of this.transports) {
        if (signal?.aborted) break;
        if (kind === 'utp') {
          if (!this.utp || !isIPv4(address.host)) continue;
          const r = await this.utp.dial(address.host, address.port, {
            timeoutMs: this.options.utpDialTimeoutMs ?? 5_000,
            ...(signal ? { signal } : {}),
          });
          if (r.ok) return { ok: true, transport: r.transport };
          last = r;
        } else {
          // sessions decode with the wire decoder, which copies what it keeps
          const r = await dialTcp(address.host, address.port, {
            reuseReadBuffer: true,
            ...(signal ? { signal } : {}),
          });
          if (r.ok) return { ok: true, transport: r.transport };
          last = r;
        }
      }
      return last ?? { ok: false, error: codedError('BT_TCP_DIAL', `no transport reaches ${address.host}`) };
    },
  };

  private get encryption(): EncryptionMode {
    return this.options.encryption ?? 'prefer';
  }

  /**
   * Dials peers of the torrent known on the wire as `skey` (its MSE key): encrypted first
   * unless encryption is off; in `prefer` mode a peer that does not speak MSE is dialled
   * again in plain.
   */
  dialerFor(skey: Uint8Array): Dialer {
    const mode = this.encryption;
    if (mode === 'off') return this.plainDialer;
    return {
      dial: async (address, signal) => {
        const r = await this.plainDialer.dial(address, signal);
        if (!r.ok) return r;
        try {
          const m = await initiateMse(r.transport, skey, mode, this.mseOptions);
          return { ok: true, transport: m.transport };
        } catch (e) {
          const error = e as CodedError;
          r.transport.close(error);
          if (mode === 'require' || signal?.aborted) return { ok: false, error };
          return this.plainDialer.dial(address, signal);
        }
      },
    };
  }

  private readonly mseOptions = {
    crypto: nodeMseCrypto,
    setTimeout: (fn: () => void, ms: number) => systemTimers.setTimeout(fn, ms),
  };

  /** Every wire hash peers may ask for (sessions, their aliases, magnets being fetched). */
  private skeys(): Uint8Array[] {
    return [...this.sessions.keys(), ...this.pending.keys()].map((k) => Buffer.from(k, 'hex'));
  }

  private routeTo = (hash: Uint8Array): ((t: Transport) => void) | undefined => {
    const s = this.sessions.get(toHex(hash));
    return s ? (t) => s.addIncoming(t) : this.pending.get(toHex(hash));
  };

  private handshakingNow = 0;
  private handshakeRefusedCount = 0;
  /** Inbound connections waiting for their handshake, by {@link handshakeGroup}. */
  private readonly handshakingFrom = new Map<string, number>();

  /** Inbound connections accepted that have not yet handshaken for one of our torrents. */
  get handshaking(): number {
    return this.handshakingNow;
  }

  /**
   * Inbound connections closed at once because `maxHandshaking` were already waiting, or
   * `maxHandshakingPerAddress` from the same address.
   */
  get handshakeRefused(): number {
    return this.handshakeRefusedCount;
  }

  private incoming(transport: Transport): void {
    const group = handshakeGroup(transport.remote.address);
    const fromThere = this.handshakingFrom.get(group) ?? 0;
    if (this.handshakingNow >= (this.options.maxHandshaking ?? 200)) {
      this.handshakeRefusedCount++;
      transport.close(
        codedError('BT_PEER_HANDSHAKE_CAP', 'too many inbound connections are waiting for their handshake'),
      );
      return;
    }
    if (fromThere >= (this.options.maxHandshakingPerAddress ?? 16)) {
      this.handshakeRefusedCount++;
      transport.close(
        codedError(
          'BT_PEER_HANDSHAKE_CAP',
          'too many inbound connections from this address are waiting for their handshake',
        ),
      );
      return;
    }
    this.handshakingNow++;
    this.handshakingFrom.set(group, fromThere + 1);
    const timeoutMs = this.options.handshakeTimeoutMs ?? 10_000;
    let settled = false;
    // One deadline for the whole way in (MSE's key exchange and the plain handshake after it).
    const deadline = systemTimers.setTimeout(
      () => transport.close(codedError('BT_PEER_TIMEOUT', 'no handshake in time')),
      timeoutMs,
    );
    const settle = () => {
      if (settled) return;
      settled = true;
      this.handshakingNow--;
      const left = (this.handshakingFrom.get(group) ?? 1) - 1;
      if (left > 0) this.handshakingFrom.set(group, left);
      else this.handshakingFrom.delete(group);
      deadline.cancel();
    };
    const mode = this.encryption;
    routeIncoming(transport, this.routeTo, systemTimers, timeoutMs, {
      plaintext: mode !== 'require',
      routed: settle,
      closed: settle,
      ...(mode === 'off'
        ? {}
        : {
            encrypted: (t: Transport) => {
              acceptMse(t, new Uint8Array(0), () => this.skeys(), mode, {
                ...this.mseOptions,
                timeoutMs,
              }).then(
                // The decrypted stream starts with a plain handshake: route it as one.
                (m) =>
                  routeIncoming(m.transport, this.routeTo, systemTimers, timeoutMs, {
                    plaintext: true,
                    routed: settle,
                  }),
                (e: CodedError) => t.close(e),
              );
            },
          }),
    });
  }

  constructor(private readonly options: SwarmNodeOptions = {}) {
    this.peerId = options.peerId ?? makePeerId();
  }

  /** Starts listening. */
  async start(): Promise<void> {
    const kinds = this.transports;
    if (kinds.includes('tcp')) {
      this.listener = await listenTcp({
        ...(this.options.host ? { host: this.options.host } : {}),
        port: this.options.port ?? 0,
        onConnection: (transport) => this.incoming(transport),
      });
    }
    if (kinds.includes('utp')) {
      try {
        this.utp = await openUtp({
          ...(this.options.host ? { host: this.options.host } : {}),
          // the same number as the TCP port: the one port trackers, PEX and the DHT publish
          port: this.listener?.port ?? this.options.port ?? 0,
          onConnection: (transport) => this.incoming(transport),
        });
      } catch (e) {
        // Beside TCP, uTP is a bonus: a UDP port already taken (or an IPv6-only host)
        // leaves the node on TCP, with the reason kept. uTP alone has no fallback.
        if (!this.listener) throw e;
        this.utpError = (e as Error).message;
      }
    }
    const pm = this.options.portMapping;
    if (pm && this.port > 0) {
      // In the background: a network with no NAT-PMP router answers nothing (~4 s of retries).
      this.portMapper = new PortMapper(pm === true ? {} : pm);
      void this.portMapper.map([
        ...(this.listener ? [{ protocol: 'tcp' as const, port: this.port }] : []),
        ...(this.utp ? [{ protocol: 'udp' as const, port: this.port }] : []),
      ]);
    }
    const lsd = this.options.lsd;
    if (lsd) {
      const host = this.options.host;
      const lsdOptions: LsdOptions =
        lsd === true ? (host && isIPv4(host) && host !== '0.0.0.0' ? { host } : {}) : lsd;
      try {
        this.lsdNode = await LsdNode.start(lsdOptions);
      } catch (e) {
        await this.listener?.close();
        await this.utp?.close();
        throw e;
      }
    }
  }

  /** The port we tell trackers and the DHT: the router's mapped TCP port when there is one. */
  get announcePort(): number {
    return this.portMapper?.external(this.listener ? 'tcp' : 'udp', this.port)?.port ?? this.port;
  }

  /** The port peers reach us on (TCP, and UDP for uTP). */
  get port(): number {
    return this.listener?.port ?? this.utp?.port ?? 0;
  }

  /** Starts a session for a torrent; resolves after its resume check. */
  async add(meta: Metainfo, options: AddTorrentOptions): Promise<TorrentSession> {
    const [infoHash, ...aliases] = wireInfoHashes(meta) as [Uint8Array, ...Uint8Array[]];
    const keys = [infoHash, ...aliases].map(toHex);
    for (const key of keys)
      if (this.sessions.has(key)) throw new Error(`torrent ${key} is already in this node`);
    const session = new TorrentSession({
      infoHash,
      aliases,
      peerId: this.peerId,
      layout: layoutOf(meta),
      storage: options.storage,
      verifyPiece: verifierOf(meta, nodeHasher),
      ...(options.dataVerified ? { dataVerified: true } : {}),
      clock: systemClock,
      timers: systemTimers,
      random: seededRandom(randomBytes(4).readUInt32LE(0)),
      dialer: this.dialerFor(infoHash),
      ...(options.wanted ? { wanted: options.wanted } : {}),
      ...(options.uploadRateLimit ? { uploadRateLimit: options.uploadRateLimit } : {}),
      info: meta.infoBytes,
      pex: !meta.private,
      // BEP 55 rides on uTP: a node that speaks it relays and asks for introductions.
      ...(this.utp && !meta.private ? { holepunch: true } : {}),
      listenPort: this.port,
      webSeeds: options.webSeeds === false ? [] : meta.urlList.map((url) => new WebSeed(url, meta)),
      ...(meta.version !== 'v1' ? { hashServer: new HashServer(meta, nodeHasher) } : {}),
    });
    for (const key of keys) this.sessions.set(key, session);
    // A hybrid is announced under both of its hashes, so that peers that know only one of them
    // (a btmh-only magnet names the v2 hash) find us through the tracker and the DHT.
    const sources =
      options.sources ??
      [infoHash, ...aliases].flatMap((hash) =>
        this.peerSources(hash, meta.announce, () => session.transferStats(), { private: meta.private }),
      );
    for (const source of sources) session.addPeerSource(source);
    // Known before start, so the first tick already dials them (and web seeds wait for them).
    if (options.peers?.length) session.addPeers(options.peers);
    await session.start();
    return session;
  }

  /** Closes a session and forgets it. */
  async remove(session: TorrentSession): Promise<void> {
    for (const [k, s] of this.sessions) if (s === session) this.sessions.delete(k);
    await session.close();
  }

  private readonly pending = new Map<string, (t: Transport) => void>();

  /**
   * Takes incoming connections for a torrent that has no session yet (a magnet link whose
   * metadata is being fetched). Returns the function that stops it.
   */
  acceptFor(infoHash: Uint8Array, accept: (t: Transport) => void): () => void {
    const key = toHex(infoHash);
    this.pending.set(key, accept);
    return () => {
      if (this.pending.get(key) === accept) this.pending.delete(key);
    };
  }

  /** Peer sources for a torrent not yet added (a magnet's trackers and the DHT). */
  peerSources(
    infoHash: Uint8Array,
    announce: readonly (readonly string[])[],
    stats: () => TransferStats,
    options: { private?: boolean } = {},
  ): PeerSource[] {
    const out: PeerSource[] = [];
    if (this.options.trackers !== false) {
      out.push(
        ...trackerSources(announce, {
          infoHash,
          peerId: this.peerId,
          port: this.announcePort,
          stats,
          timers: systemTimers,
        }),
      );
    }
    if (this.options.dht && !options.private) {
      out.push(
        this.options.dht.peerSource(infoHash, {
          announcePort: this.announcePort,
          ...(this.options.dhtRetryMs ? { retryMs: this.options.dhtRetryMs } : {}),
        }),
      );
    }
    if (this.lsdNode && !options.private) out.push(this.lsdNode.peerSource(infoHash, () => this.port));
    return out;
  }

  /** The session of an info-hash, if any. */
  get(infoHash: Uint8Array): TorrentSession | undefined {
    for (const [k, s] of this.sessions) if (bytesEqual(Buffer.from(k, 'hex'), infoHash)) return s;
    return undefined;
  }

  async close(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.close()));
    await this.listener?.close();
    await this.utp?.close();
    await this.lsdNode?.close();
    await this.portMapper?.close();
  }
}

function makePeerId(): Uint8Array {
  const id = new Uint8Array(20);
  id.set(new TextEncoder().encode('-SC0001-'));
  id.set(randomBytes(12), 8);
  return id;
}

/**
 * The unit of the per-address handshake cap: an IPv4 address (IPv4-mapped IPv6 included), or
 * the first 64 bits of an IPv6 address, since one host is usually given a whole /64.
 */
export function handshakeGroup(address: string | undefined): string {
  if (!address) return '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const bare = address.split('%')[0]!;
  const [head, tail] = bare.split('::');
  const left = (head ?? '').split(':').filter((x) => x !== '');
  const right = tail === undefined ? [] : tail.split(':').filter((x) => x !== '');
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, '').toLowerCase())
    .join(':')}::/64`;
}

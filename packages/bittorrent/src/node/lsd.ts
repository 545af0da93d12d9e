import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { toHex } from '../bytes.ts';
import { encodeLsdAnnounce, LSD_GROUP_V4, LSD_PORT, parseLsdAnnounce } from '../discovery/lsd-message.ts';
import type { PeerSource, PeerSourceHandler } from '../discovery/peer-source.ts';

export interface LsdOptions {
  /**
   * IPv4 address of the interface to announce and listen on (default: the system's choice for
   * the group, which is the interface of the default route).
   */
  readonly host?: string;
  /** Multicast group and port (default BEP 14's 239.192.152.143:6771). */
  readonly group?: string;
  readonly groupPort?: number;
  /** Time between announces of one torrent (default 5 minutes, as libtorrent). */
  readonly intervalMs?: number;
  /** Hop limit of announces (default 1: this LAN). */
  readonly ttl?: number;
}

/**
 * BEP 14 Local Service Discovery for a node: one UDP socket on the group's port (shared with
 * other LSD clients on the host through SO_REUSEADDR), joined to the group, and a peer source
 * per torrent that announces it at once and every `intervalMs`, and reports every neighbour
 * that announces the same info-hash. Our own announces come back (multicast loop, so that two
 * clients on one host meet) and are recognised by their cookie. IPv4 only.
 */
export class LsdNode {
  private readonly cookie = randomBytes(6).toString('hex');
  private readonly listeners = new Map<string, Set<PeerSourceHandler>>();
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    private readonly options: LsdOptions,
  ) {
    socket.on('message', (msg, rinfo) => this.received(msg, rinfo.address));
  }

  static async start(options: LsdOptions = {}): Promise<LsdNode> {
    if (options.host !== undefined && !isIPv4(options.host))
      throw new Error(`LSD runs on IPv4 interfaces (got ${options.host})`);
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    const group = options.group ?? LSD_GROUP_V4;
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      // Bound to every address: a socket bound to one unicast address receives no multicast.
      socket.bind(options.groupPort ?? LSD_PORT, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', () => {});
    try {
      socket.addMembership(group, options.host);
      if (options.host) socket.setMulticastInterface(options.host);
      socket.setMulticastTTL(options.ttl ?? 1);
      socket.setMulticastLoopback(true);
    } catch (e) {
      socket.close();
      throw e;
    }
    return new LsdNode(socket, options);
  }

  /**
   * Announces `infoHash` as served on `port` and reports neighbours in the same torrent.
   * BEP 14 is for public torrents: the caller leaves private ones out.
   */
  peerSource(infoHash: Uint8Array, port: () => number): PeerSource {
    const hex = toHex(infoHash);
    return {
      name: 'lsd',
      run: async (handler, signal) => {
        if (this.closed || signal.aborted) return;
        const set = this.listeners.get(hex) ?? new Set<PeerSourceHandler>();
        this.listeners.set(hex, set);
        set.add(handler);
        try {
          while (!signal.aborted && !this.closed) {
            this.announce(hex, port());
            await new Promise<void>((resolve) => {
              const t = setTimeout(done, this.options.intervalMs ?? 5 * 60_000);
              function done() {
                clearTimeout(t);
                signal.removeEventListener('abort', done);
                resolve();
              }
              signal.addEventListener('abort', done, { once: true });
            });
          }
        } finally {
          set.delete(handler);
          if (set.size === 0) this.listeners.delete(hex);
        }
      },
    };
  }

  private announce(hex: string, port: number): void {
    if (this.closed || !(port > 0)) return;
    const group = this.options.group ?? LSD_GROUP_V4;
    const groupPort = this.options.groupPort ?? LSD_PORT;
    const msg = encodeLsdAnnounce({ port, infoHashes: [hex], cookie: this.cookie }, `${group}:${groupPort}`);
    this.socket.send(msg, groupPort, group, () => {});
  }

  private received(msg: Uint8Array, address: string): void {
    const a = parseLsdAnnounce(msg);
    if (!a || a.cookie === this.cookie) return;
    for (const hash of a.infoHashes) {
      const set = this.listeners.get(hash);
      if (!set) continue;
      for (const h of set) h.peers([{ host: address, port: a.port }]);
    }
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((r) => this.socket.close(() => r()));
  }
}

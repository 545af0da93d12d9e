/**
 * The WebSocket side: WebTorrent browser peers announce here, and WebRTC offers and answers
 * are relayed between peers of one swarm. Announces go through the same core as HTTP and UDP
 * (so browser peers are counted in the same swarm); relaying needs the live socket, so it
 * reaches the peers connected to this process. With several processes behind a load
 * balancer, browsers of one swarm should be routed to one process (hash on info-hash) or
 * relaying only reaches the local share; counts are shared through the store either way.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { normalizeIp } from '../codec/address.ts';
import { toHex } from '../codec/numbers.ts';
import {
  decodeWsMessage,
  encodeWsAnnounceReply,
  encodeWsAnswer,
  encodeWsFailure,
  encodeWsOffer,
  encodeWsScrape,
} from '../codec/websocket.ts';
import { isTrackerError, trackerError } from '../errors.ts';
import type { Tracker } from '../tracker.ts';
import type { AnnounceRequest, InfoHash } from '../types.ts';

/** Bounds per socket, so one connection cannot grow the relay's memory without limit. */
const maxPeerIdsPerSocket = 64;
const maxSwarmsPerSocket = 1024;
/** Offers delivered to one socket and not yet answered (oldest forgotten first). */
const maxPendingOffers = 256;
/** Messages a socket may send: a bucket of this many, refilled at `messageRate` per second. */
const messageBurst = 60;
const messageRate = 10;

interface SocketState {
  ip: string;
  port: number;
  userAgent: string | null;
  /**
   * Peer ids announced on this socket. More than one is normal: bittorrent-tracker's client
   * pools one socket per tracker URL for every torrent client in the page or process.
   */
  peerIds: Set<string>;
  /** Last announce per (info-hash, peer id), replayed as `stopped` when the socket closes. */
  swarms: Map<string, AnnounceRequest>;
  /**
   * Offers relayed to this socket, by offer id: the only answers it may send back, once each,
   * to the peer that offered, in that swarm. An answer to nothing is dropped, so a socket
   * cannot push data at a peer that never offered it anything.
   */
  pendingOffers: Map<string, { infoHash: InfoHash; from: string }>;
  /** Message tokens left (see `messageBurst`), and when they were last refilled. */
  tokens: number;
  refilledAt: number;
  /** When the socket last sent anything (message or pong). */
  lastSeen: number;
  /** A ping is out and unanswered. */
  awaitingPong: boolean;
}

export interface WsRelayOptions {
  /** Most open sockets; further upgrades are refused with 503 (default: below the fd limit). */
  maxSockets?: number;
  /** Most open sockets from one address (IPv6: one /64); default 256 (a node seeding many torrents holds one socket each). */
  maxSocketsPerAddress?: number;
  /** Largest frame accepted. */
  maxPayload?: number;
  /**
   * How often sockets are pinged (default 30 s). A socket that has not answered the previous
   * ping, or has sent no announce within one period of connecting, is closed.
   */
  pingIntervalMs?: number;
}

/** Relaying counters (what was refused and why), for /metrics and tests. */
export interface WsRelayStats {
  refusedFull: number;
  refusedPerAddress: number;
  /** An announce for a (swarm, peer id) that another live socket holds. */
  refusedPeerIdTaken: number;
  /** Answers that matched no offer delivered to that socket. */
  droppedAnswers: number;
  /** Messages over the socket's rate. */
  droppedRate: number;
  /** Sockets closed for missing a ping or never announcing. */
  closedIdle: number;
}

export class WsRelay {
  private readonly server: WebSocketServer;
  private readonly byPeerId = new Map<string, WebSocket>();
  /**
   * The socket of a peer id in one swarm. A node seeding many torrents announces each on its
   * own socket with the same peer id; offers and answers for a swarm must reach the socket
   * that announced in that swarm, not the peer id's newest socket.
   */
  private readonly bySwarmPeer = new Map<string, WebSocket>();
  private readonly states = new Map<WebSocket, SocketState>();
  private readonly perAddress = new Map<string, number>();
  private readonly maxSockets: number;
  private readonly maxPerAddress: number;
  private readonly pingTimer: ReturnType<typeof setInterval>;
  readonly stats: WsRelayStats = {
    refusedFull: 0,
    refusedPerAddress: 0,
    refusedPeerIdTaken: 0,
    droppedAnswers: 0,
    droppedRate: 0,
    closedIdle: 0,
  };

  constructor(
    private readonly tracker: Tracker,
    options: WsRelayOptions = {},
  ) {
    this.maxSockets = options.maxSockets ?? defaultMaxSockets();
    this.maxPerAddress = options.maxSocketsPerAddress ?? 256;
    this.server = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload ?? 64 * 1024 });
    const every = options.pingIntervalMs ?? 30_000;
    this.pingTimer = setInterval(() => this.sweep(every), every);
    this.pingTimer.unref();
  }

  get size(): number {
    return this.states.size;
  }

  /** For an http.Server 'upgrade' event. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.states.size >= this.maxSockets) {
      this.stats.refusedFull++;
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    const group = addressGroup(normalizeIp(req.socket.remoteAddress ?? ''));
    if ((this.perAddress.get(group) ?? 0) >= this.maxPerAddress) {
      this.stats.refusedPerAddress++;
      socket.end('HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\n\r\n');
      return;
    }
    // Counted from here, so upgrades in flight count against the cap too.
    this.perAddress.set(group, (this.perAddress.get(group) ?? 0) + 1);
    let counted = true;
    const uncount = () => {
      if (!counted) return;
      counted = false;
      const n = (this.perAddress.get(group) ?? 1) - 1;
      if (n <= 0) this.perAddress.delete(group);
      else this.perAddress.set(group, n);
    };
    socket.once('close', uncount);
    this.server.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req));
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const now = Date.now();
    const state: SocketState = {
      ip: normalizeIp(req.socket.remoteAddress ?? ''),
      port: req.socket.remotePort ?? 0,
      userAgent: req.headers['user-agent'] ?? null,
      peerIds: new Set(),
      swarms: new Map(),
      pendingOffers: new Map(),
      tokens: messageBurst,
      refilledAt: now,
      lastSeen: now,
      awaitingPong: false,
    };
    this.states.set(ws, state);
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      state.lastSeen = Date.now();
      if (!this.take(state)) {
        this.stats.droppedRate++;
        return;
      }
      this.onMessage(ws, state, String(data)).catch(() => ws.terminate());
    });
    ws.on('pong', () => {
      state.awaitingPong = false;
      state.lastSeen = Date.now();
    });
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      this.onClose(ws, state).catch(() => undefined);
    });
  }

  /** Takes one message token from the socket's bucket; false when it is empty. */
  private take(state: SocketState): boolean {
    const now = Date.now();
    state.tokens = Math.min(messageBurst, state.tokens + ((now - state.refilledAt) / 1000) * messageRate);
    state.refilledAt = now;
    if (state.tokens < 1) return false;
    state.tokens -= 1;
    return true;
  }

  /**
   * Closes sockets that missed the last ping or never announced within a period of
   * connecting (idle sockets only hold a file descriptor), and pings the rest.
   */
  private sweep(periodMs: number): void {
    const now = Date.now();
    for (const [ws, state] of this.states) {
      const neverAnnounced = state.swarms.size === 0 && now - state.lastSeen >= periodMs;
      if (state.awaitingPong || neverAnnounced) {
        this.stats.closedIdle++;
        ws.terminate();
        continue;
      }
      state.awaitingPong = true;
      try {
        ws.ping();
      } catch {
        ws.terminate();
      }
    }
  }

  private send(ws: WebSocket, text: string): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(text);
  }

  private async onMessage(ws: WebSocket, state: SocketState, text: string): Promise<void> {
    const msg = decodeWsMessage(
      text,
      { ip: state.ip, port: state.port, userAgent: state.userAgent },
      this.tracker.limits,
    );
    if (isTrackerError(msg)) {
      this.tracker.metrics.error(msg.error);
      this.send(ws, encodeWsFailure(msg));
      return;
    }
    if (msg.kind === 'scrape') {
      const result = await this.tracker.core.scrape(msg.request);
      this.send(ws, isTrackerError(result) ? encodeWsFailure(result) : encodeWsScrape(result));
      return;
    }
    if (msg.kind === 'answer') {
      // Only from a peer id this socket announced with, in a swarm it is in, and only to an
      // offer this socket was actually given by that peer (once).
      const pending = state.pendingOffers.get(msg.offerId);
      if (
        !state.swarms.has(`${msg.infoHash}:${msg.peerId}`) ||
        !pending ||
        pending.infoHash !== msg.infoHash ||
        pending.from !== msg.toPeerId
      ) {
        this.stats.droppedAnswers++;
        return;
      }
      state.pendingOffers.delete(msg.offerId);
      const target =
        this.bySwarmPeer.get(`${msg.infoHash}:${msg.toPeerId}`) ?? this.byPeerId.get(msg.toPeerId);
      if (!target) return;
      this.tracker.metrics.relays.answers++;
      this.send(target, encodeWsAnswer(msg.infoHash, msg.peerId, msg.answer, msg.offerId));
      return;
    }
    const request = msg.request;
    const peerIdHex = toHex(request.peerId);
    const swarmKey = `${request.infoHash}:${peerIdHex}`;
    // A (swarm, peer id) belongs to the live socket that first announced it: another socket
    // announcing it would take the holder's offers and, on closing, remove it from the swarm.
    const holder = this.bySwarmPeer.get(swarmKey);
    if (holder && holder !== ws && holder.readyState === WebSocket.OPEN) {
      this.stats.refusedPeerIdTaken++;
      this.send(ws, encodeWsFailure(trackerError('TRK_PEER_ID_TAKEN'), request.infoHash));
      return;
    }
    if (!state.peerIds.has(peerIdHex)) {
      if (state.peerIds.size >= maxPeerIdsPerSocket) {
        this.tracker.metrics.error('TRK_FULL');
        this.send(ws, encodeWsFailure(trackerError('TRK_FULL'), request.infoHash));
        return;
      }
      state.peerIds.add(peerIdHex);
      // The first live socket of a peer id keeps it (a reconnecting browser's old socket is
      // closed, or dropped at the next ping, and then the new one takes over).
      const first = this.byPeerId.get(peerIdHex);
      if (!first || first.readyState !== WebSocket.OPEN) this.byPeerId.set(peerIdHex, ws);
    }
    const result = await this.tracker.core.announce(request);
    if (isTrackerError(result)) {
      this.send(ws, encodeWsFailure(result, request.infoHash));
      return;
    }
    if (request.event === 'stopped') {
      state.swarms.delete(swarmKey);
      if (this.bySwarmPeer.get(swarmKey) === ws) this.bySwarmPeer.delete(swarmKey);
    } else if (state.swarms.has(swarmKey) || state.swarms.size < maxSwarmsPerSocket) {
      state.swarms.set(swarmKey, request);
      this.bySwarmPeer.set(swarmKey, ws);
    }
    this.send(ws, encodeWsAnnounceReply(request.infoHash, result, result.interval));
    let i = 0;
    for (const peer of result.peers) {
      if (i >= msg.offers.length) break;
      const target =
        this.bySwarmPeer.get(`${request.infoHash}:${toHex(peer.peerId)}`) ??
        this.byPeerId.get(toHex(peer.peerId));
      if (!target) continue;
      const offer = msg.offers[i]!;
      const targetState = this.states.get(target);
      if (targetState) {
        const pending = targetState.pendingOffers;
        if (pending.size >= maxPendingOffers) {
          const oldest = pending.keys().next().value;
          if (oldest !== undefined) pending.delete(oldest);
        }
        pending.set(offer.offerId, { infoHash: request.infoHash, from: peerIdHex });
      }
      this.send(target, encodeWsOffer(request.infoHash, peerIdHex, offer));
      this.tracker.metrics.relays.offers++;
      i++;
    }
  }

  private async onClose(ws: WebSocket, state: SocketState): Promise<void> {
    this.states.delete(ws);
    for (const id of state.peerIds) if (this.byPeerId.get(id) === ws) this.byPeerId.delete(id);
    for (const key of state.swarms.keys()) if (this.bySwarmPeer.get(key) === ws) this.bySwarmPeer.delete(key);
    for (const request of state.swarms.values()) {
      await this.tracker.core.leave({ ...request, event: 'stopped', numwant: 0 });
    }
    state.swarms.clear();
  }

  close(): void {
    clearInterval(this.pingTimer);
    for (const ws of this.states.keys()) ws.terminate();
    this.server.close();
  }
}

/** The unit of per-address limits: an IPv4 address, or the /64 of an IPv6 address. */
export function addressGroup(ip: string): string {
  if (!ip.includes(':')) return ip;
  const [head, tail] = ip.split('::');
  const left = (head ?? '').split(':').filter((x) => x !== '');
  const right = tail === undefined ? [] : tail.split(':').filter((x) => x !== '');
  const groups = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, '').toLowerCase())
    .join(':')}::/64`;
}

/**
 * Most sockets by default: half the process's open-file limit (Linux /proc), so idle
 * WebSockets can never take the descriptors pages, beacons and peers need; 20,000 at most.
 */
function defaultMaxSockets(): number {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const m = /Max open files\s+(\d+|unlimited)/.exec(limits);
    if (m && m[1] !== 'unlimited') return Math.max(64, Math.min(20_000, Math.floor(Number(m[1]) / 2)));
  } catch {
    // Not Linux: the fixed bound below.
  }
  return 20_000;
}

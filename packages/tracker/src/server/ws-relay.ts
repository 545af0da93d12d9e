/**
 * The WebSocket side: WebTorrent browser peers announce here, and WebRTC offers and answers
 * are relayed between peers of one swarm. Announces go through the same core as HTTP and UDP
 * (so browser peers are counted in the same swarm); relaying needs the live socket, so it
 * reaches the peers connected to this process. With several processes behind a load
 * balancer, browsers of one swarm should be routed to one process (hash on info-hash) or
 * relaying only reaches the local share; counts are shared through the store either way.
 */
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
}

export interface WsRelayOptions {
  /** Most open sockets; further upgrades are refused with 503. */
  maxSockets?: number;
  /** Largest frame accepted. */
  maxPayload?: number;
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
  private readonly maxSockets: number;

  constructor(
    private readonly tracker: Tracker,
    options: WsRelayOptions = {},
  ) {
    this.maxSockets = options.maxSockets ?? 20_000;
    this.server = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload ?? 64 * 1024 });
  }

  get size(): number {
    return this.states.size;
  }

  /** For an http.Server 'upgrade' event. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.states.size >= this.maxSockets) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    this.server.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req));
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const state: SocketState = {
      ip: normalizeIp(req.socket.remoteAddress ?? ''),
      port: req.socket.remotePort ?? 0,
      userAgent: req.headers['user-agent'] ?? null,
      peerIds: new Set(),
      swarms: new Map(),
    };
    this.states.set(ws, state);
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      this.onMessage(ws, state, String(data)).catch(() => ws.terminate());
    });
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      this.onClose(ws, state).catch(() => undefined);
    });
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
      // Only from a peer id this socket announced with, in a swarm it is in.
      if (!state.swarms.has(`${msg.infoHash}:${msg.peerId}`)) return;
      const target =
        this.bySwarmPeer.get(`${msg.infoHash}:${msg.toPeerId}`) ?? this.byPeerId.get(msg.toPeerId);
      if (!target) return;
      this.tracker.metrics.relays.answers++;
      this.send(target, encodeWsAnswer(msg.infoHash, msg.peerId, msg.answer, msg.offerId));
      return;
    }
    const request = msg.request;
    const peerIdHex = toHex(request.peerId);
    if (!state.peerIds.has(peerIdHex)) {
      if (state.peerIds.size >= maxPeerIdsPerSocket) {
        this.tracker.metrics.error('TRK_FULL');
        this.send(ws, encodeWsFailure(trackerError('TRK_FULL'), request.infoHash));
        return;
      }
      state.peerIds.add(peerIdHex);
      // The newest socket of a peer id wins (a reconnecting browser).
      this.byPeerId.set(peerIdHex, ws);
    }
    const result = await this.tracker.core.announce(request);
    if (isTrackerError(result)) {
      this.send(ws, encodeWsFailure(result, request.infoHash));
      return;
    }
    const swarmKey = `${request.infoHash}:${peerIdHex}`;
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
      this.send(target, encodeWsOffer(request.infoHash, peerIdHex, msg.offers[i]!));
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
    for (const ws of this.states.keys()) ws.terminate();
    this.server.close();
  }
}

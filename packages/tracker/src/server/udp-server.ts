/**
 * The UDP tracker (BEP 15) on a dgram socket. Connection ids are stateless (see
 * codec/connection-id.ts). Packets too short to carry a transaction id are dropped in
 * silence; every other bad packet gets an error packet no larger than itself plus a few
 * bytes, so the tracker cannot be used to amplify a spoofed flood.
 *
 * The same port answers STUN binding requests (RFC 8489, told apart by the magic cookie):
 * the node is its pages' STUN server with nothing else installed. A binding answer is at
 * most 52 bytes (at most 2.6x a 20-byte request, as any public STUN server).
 */
import { createSocket, type RemoteInfo, type Socket, type SocketOptions } from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
import { isIP } from 'node:net';
import { answerStunBinding, isStun } from '@swarmcast/platform';
import { normalizeIp } from '../codec/address.ts';
import {
  decodeUdpPacket,
  encodeUdpAnnounce,
  encodeUdpConnect,
  encodeUdpError,
  encodeUdpScrape,
} from '../codec/udp.ts';
import type { AnnounceOutcome } from '../core/tracker-core.ts';
import { isTrackerError } from '../errors.ts';
import type { Tracker } from '../tracker.ts';

export interface UdpTrackerOptions {
  port: number;
  /** Address to bind; "::" binds dual-stack. */
  host?: string;
  /** Receive buffer in bytes (the default 208 KiB drops packets under ~256 in flight). */
  receiveBufferSize?: number;
  /** Answer STUN binding requests on this port too (default true). */
  stun?: boolean;
  /**
   * Told each datagram before it is answered; true when it was taken elsewhere (a cluster
   * worker hands an announce for another worker's swarm to that worker).
   */
  forward?: (packet: Buffer, rinfo: RemoteInfo) => boolean;
}

export interface UdpTracker {
  port: number;
  /** Answers a datagram that reached another process sharing this socket, from here. */
  answer(packet: Buffer, address: string, port: number): void;
  close(): Promise<void>;
}

/** The answer to an announce, whether it was taken or refused. */
function encodeAnnounceOutcome(transactionId: number, outcome: AnnounceOutcome, v6: boolean): Buffer {
  return isTrackerError(outcome)
    ? encodeUdpError(transactionId, outcome)
    : encodeUdpAnnounce(transactionId, outcome, v6);
}

/**
 * Answers one datagram; exported for tests that drive it without a socket. Synchronous
 * when the tracker can answer at once (a public tracker on the memory store: the common
 * announce costs no promise), a promise otherwise (private mode, Redis, a scrape).
 */
export function answerUdp(
  tracker: Tracker,
  packet: Uint8Array,
  rinfo: { address: string; port: number },
): Buffer | null | Promise<Buffer | null> {
  const ip = normalizeIp(rinfo.address);
  const msg = decodeUdpPacket(packet, ip, tracker.limits);
  if (!msg) return null;
  const now = tracker.clock.now();
  switch (msg.kind) {
    case 'connect':
      tracker.metrics.udpConnects.count++;
      return encodeUdpConnect(msg.transactionId, tracker.connectionIds.issue(ip, rinfo.port, now));
    case 'error':
      tracker.metrics.error(msg.error.error);
      return encodeUdpError(msg.transactionId, msg.error);
    case 'announce': {
      if (!tracker.connectionIds.verify(msg.connectionId, ip, rinfo.port, now)) {
        // Dropped without a word: an error answer is larger than the request, which would
        // make us an amplifier for packets with forged source addresses (BEP 15 lets
        // clients time out and connect again).
        tracker.metrics.error('TRK_BAD_CONNECTION_ID');
        return null;
      }
      const { transactionId } = msg;
      const v6 = ip.includes(':');
      const result = tracker.core.announceSoon(msg.request);
      return result instanceof Promise
        ? result.then((r) => encodeAnnounceOutcome(transactionId, r, v6))
        : encodeAnnounceOutcome(transactionId, result, v6);
    }
    case 'scrape': {
      if (!tracker.connectionIds.verify(msg.connectionId, ip, rinfo.port, now)) {
        // Dropped without a word, as an announce with a bad connection id.
        tracker.metrics.error('TRK_BAD_CONNECTION_ID');
        return null;
      }
      const request = msg.request;
      return tracker.core
        .scrape(request)
        .then((result) =>
          isTrackerError(result)
            ? encodeUdpError(msg.transactionId, result)
            : encodeUdpScrape(msg.transactionId, request, result),
        );
    }
  }
}

/**
 * dgram resolves the destination of every send() with dns.lookup, even an address literal
 * (a call into the resolver wrapper and a process.nextTick per answer: about 2% of the UDP
 * tracker's CPU in the profile). Every answer goes to the sender's address as the socket
 * reported it, so a literal is handed back at once; anything else takes the usual path.
 */
function literalLookup(type: 'udp4' | 'udp6'): NonNullable<SocketOptions['lookup']> {
  const family = type === 'udp6' ? 6 : 4;
  return (hostname, options, callback) => {
    if (isIP(hostname) !== 0) callback(null, hostname, family);
    else dnsLookup(hostname, options, callback);
  };
}

/** Binds the UDP tracker; resolves once listening. */
export function startUdpTracker(tracker: Tracker, options: UdpTrackerOptions): Promise<UdpTracker> {
  const host = options.host ?? '0.0.0.0';
  const type = host.includes(':') ? 'udp6' : 'udp4';
  const socket: Socket = createSocket({ type, reuseAddr: false, lookup: literalLookup(type) });
  const stun = options.stun ?? true;
  const forward = options.forward;
  const answer = (packet: Buffer, rinfo: { address: string; port: number }) => {
    let reply: ReturnType<typeof answerUdp>;
    try {
      reply = answerUdp(tracker, packet, rinfo);
    } catch {
      return; // as a rejected answer before: nothing is sent
    }
    if (reply instanceof Promise) {
      reply.then(
        (r) => {
          if (r) socket.send(r, rinfo.port, rinfo.address);
        },
        () => undefined,
      );
    } else if (reply) {
      socket.send(reply, rinfo.port, rinfo.address);
    }
  };
  const onMessage = (packet: Buffer, rinfo: RemoteInfo) => {
    if (stun && isStun(packet)) {
      const reply = answerStunBinding(packet, rinfo.address, rinfo.port);
      if (reply) socket.send(reply, rinfo.port, rinfo.address);
      return;
    }
    if (forward?.(packet, rinfo)) return;
    answer(packet, rinfo);
  };
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options.port, host, () => {
      socket.off('error', reject);
      socket.on('error', () => undefined);
      try {
        socket.setRecvBufferSize(options.receiveBufferSize ?? 4 * 1024 * 1024);
      } catch {
        // The kernel caps it (net.core.rmem_max); the default still works, with more drops.
      }
      socket.on('message', onMessage);
      resolve({
        port: socket.address().port,
        answer: (packet, address, port) => answer(packet, { address, port }),
        close: () => new Promise<void>((r) => socket.close(() => r())),
      });
    });
  });
}

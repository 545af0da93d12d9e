/**
 * The UDP tracker protocol (BEP 15), with the URL data option of BEP 41 (so that a private
 * tracker's passkey in `udp://host:port/<passkey>/announce` reaches us). Decoding returns
 * a message, a coded error carrying the transaction id (answered with an error packet), or
 * null for packets too short to answer at all (silence: never amplify garbage).
 */
import type { AnnounceEvent } from '@swarmcast/platform';
import { type TrackerError, trackerError } from '../errors.ts';
import type { AnnounceRequest, AnnounceResult, InfoHash, ScrapeRequest, ScrapeResult } from '../types.ts';
import { copyCompact } from './address.ts';
import { type CodecLimits, capNumwant } from './limits.ts';
import { readUint64Clamped, toHex } from './numbers.ts';

export const UDP_PROTOCOL_ID_HI = 0x417;
export const UDP_PROTOCOL_ID_LO = 0x27101980;

export const UdpAction = { connect: 0, announce: 1, scrape: 2, error: 3 } as const;

const udpEvents: AnnounceEvent[] = ['update', 'completed', 'started', 'stopped'];

export type UdpMessage =
  | { kind: 'connect'; transactionId: number }
  | { kind: 'announce'; transactionId: number; connectionId: Uint8Array; request: AnnounceRequest }
  | { kind: 'scrape'; transactionId: number; connectionId: Uint8Array; request: ScrapeRequest }
  | { kind: 'error'; transactionId: number; error: TrackerError };

/** Reads the BEP 41 options after a 98-byte announce; returns the URL data joined, or null. */
function readUrlData(packet: Uint8Array, offset: number): string | null {
  let url = '';
  let found = false;
  while (offset < packet.length) {
    const type = packet[offset]!;
    if (type === 0) break;
    if (type === 1) {
      offset++;
      continue;
    }
    if (offset + 1 >= packet.length) break;
    const len = packet[offset + 1]!;
    if (type === 2) {
      const end = Math.min(packet.length, offset + 2 + len);
      url += Buffer.from(packet.subarray(offset + 2, end)).toString('latin1');
      found = true;
    }
    offset += 2 + len;
  }
  return found ? url : null;
}

/** The passkey in a path such as `/<passkey>/announce`, or null. */
export function passkeyFromPath(path: string): string | null {
  const m = /^\/([A-Za-z0-9_-]{8,128})\/(?:announce|scrape)(?:\?|$)/.exec(path);
  return m ? m[1]! : null;
}

/**
 * A copy of 20 bytes in a small array of its own. Not a view: the store keeps the peer id,
 * and a view would keep the whole datagram's off-heap buffer alive with it.
 */
function copy20(packet: Uint8Array, at: number): Uint8Array {
  const out = new Uint8Array(20);
  for (let k = 0; k < 20; k++) out[k] = packet[at + k]!;
  return out;
}

/**
 * Where a whole announce packet carries its info-hash (20 bytes), or null for any other
 * packet: lets a cluster worker see which worker owns the swarm without decoding.
 */
export function udpAnnounceInfoHashOffset(packet: Uint8Array): number | null {
  if (packet.length < 98) return null;
  const action = ((packet[8]! << 24) | (packet[9]! << 16) | (packet[10]! << 8) | packet[11]!) >>> 0;
  return action === UdpAction.announce ? 16 : null;
}

/**
 * Hex of the 20 bytes at `at`. A datagram from node:dgram is a Buffer, read in place: a
 * subarray plus a Buffer view of it were two allocations per announce.
 */
function hexAt(packet: Uint8Array, at: number): string {
  return Buffer.isBuffer(packet) ? packet.toString('hex', at, at + 20) : toHex(packet.subarray(at, at + 20));
}

/** Decodes one datagram; `ip` is the sender's address. */
export function decodeUdpPacket(packet: Uint8Array, ip: string, limits: CodecLimits): UdpMessage | null {
  if (packet.length < 16) return null;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const action = view.getUint32(8);
  const transactionId = view.getUint32(12);
  if (action === UdpAction.connect) {
    if (view.getUint32(0) !== UDP_PROTOCOL_ID_HI || view.getUint32(4) !== UDP_PROTOCOL_ID_LO) return null;
    return { kind: 'connect', transactionId };
  }
  const connectionId = packet.subarray(0, 8);
  if (action === UdpAction.announce) {
    if (packet.length < 98) return { kind: 'error', transactionId, error: trackerError('TRK_BAD_REQUEST') };
    const eventCode = view.getUint32(80);
    const event = udpEvents[eventCode];
    if (!event) return { kind: 'error', transactionId, error: trackerError('TRK_BAD_EVENT') };
    const port = view.getUint16(96);
    if (port === 0) return { kind: 'error', transactionId, error: trackerError('TRK_BAD_PORT') };
    const urlData = packet.length > 98 ? readUrlData(packet, 98) : null;
    const request: AnnounceRequest = {
      type: 'announce',
      transport: 'udp',
      infoHash: hexAt(packet, 16) as InfoHash,
      peerId: copy20(packet, 36),
      downloaded: readUint64Clamped(view, 56),
      left: readUint64Clamped(view, 64),
      uploaded: readUint64Clamped(view, 72),
      event,
      ip,
      port,
      key: view.getUint32(88).toString(16),
      numwant: capNumwant(view.getInt32(92), limits),
      compact: true,
      noPeerId: true,
      passkey: urlData ? passkeyFromPath(urlData) : null,
      userAgent: null,
    };
    return { kind: 'announce', transactionId, connectionId, request };
  }
  if (action === UdpAction.scrape) {
    const n = Math.floor((packet.length - 16) / 20);
    if (n > limits.maxScrapeHashes) {
      return { kind: 'error', transactionId, error: trackerError('TRK_TOO_MANY_HASHES') };
    }
    const infoHashes: InfoHash[] = [];
    for (let i = 0; i < n; i++) infoHashes.push(hexAt(packet, 16 + i * 20) as InfoHash);
    return {
      kind: 'scrape',
      transactionId,
      connectionId,
      request: { type: 'scrape', transport: 'udp', infoHashes, ip, passkey: null },
    };
  }
  return { kind: 'error', transactionId, error: trackerError('TRK_UNKNOWN_ACTION') };
}

export function encodeUdpConnect(transactionId: number, connectionId: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(16);
  out.writeUInt32BE(UdpAction.connect, 0);
  out.writeUInt32BE(transactionId, 4);
  out.set(connectionId, 8);
  return out;
}

/**
 * The announce answer. Peers of the sender's address family only: BEP 15 has no field to
 * tell 6- from 18-byte entries, so an IPv4 socket gets IPv4 peers and IPv6 gets IPv6.
 */
export function encodeUdpAnnounce(transactionId: number, result: AnnounceResult, ipv6: boolean): Buffer {
  const size = ipv6 ? 18 : 6;
  const packed = result.packed ? (ipv6 ? result.packed.v6 : result.packed.v4) : null;
  let n = 0;
  if (packed) n = packed.length / size;
  else for (const p of result.peers) if (p.compact.length === size) n++;
  const out = Buffer.allocUnsafe(20 + n * size);
  out.writeUInt32BE(UdpAction.announce, 0);
  out.writeUInt32BE(transactionId, 4);
  out.writeUInt32BE(result.interval, 8);
  out.writeUInt32BE(Math.min(result.incomplete, 0xffffffff), 12);
  out.writeUInt32BE(Math.min(result.complete, 0xffffffff), 16);
  if (packed) {
    out.set(packed, 20);
    return out;
  }
  let at = 20;
  for (const p of result.peers) {
    if (p.compact.length !== size) continue;
    at = copyCompact(out, at, p.compact);
  }
  return out;
}

export function encodeUdpScrape(transactionId: number, request: ScrapeRequest, result: ScrapeResult): Buffer {
  const out = Buffer.allocUnsafe(8 + request.infoHashes.length * 12);
  out.writeUInt32BE(UdpAction.scrape, 0);
  out.writeUInt32BE(transactionId, 4);
  let at = 8;
  for (const hash of request.infoHashes) {
    const c = result.files.get(hash);
    out.writeUInt32BE(c?.complete ?? 0, at);
    out.writeUInt32BE(c?.downloaded ?? 0, at + 4);
    out.writeUInt32BE(c?.incomplete ?? 0, at + 8);
    at += 12;
  }
  return out;
}

export function encodeUdpError(transactionId: number, error: TrackerError): Buffer {
  const message = Buffer.from(error.message);
  const out = Buffer.allocUnsafe(8 + message.length);
  out.writeUInt32BE(UdpAction.error, 0);
  out.writeUInt32BE(transactionId, 4);
  out.set(message, 8);
  return out;
}

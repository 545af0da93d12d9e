import { fail, ok, type Result } from '../errors.ts';
import type { PeerAddress } from '../transport.ts';
import { decodeCompactPeers, decodeCompactPeers6 } from './compact-peers.ts';
import type { AnnounceParams, AnnounceReply, ScrapeEntry } from './types.ts';

/** BEP 15 wire format: pure encoders and decoders, no sockets. */
export const PROTOCOL_ID = 0x41727101980n;
export const ACTION = { connect: 0, announce: 1, scrape: 2, error: 3 } as const;
const EVENT = { none: 0, completed: 1, started: 2, stopped: 3 } as const;

export function encodeConnect(transactionId: number): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, PROTOCOL_ID);
  v.setUint32(8, ACTION.connect);
  v.setUint32(12, transactionId >>> 0);
  return b;
}

export function encodeAnnounce(connectionId: bigint, transactionId: number, p: AnnounceParams): Uint8Array {
  const b = new Uint8Array(98);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, connectionId);
  v.setUint32(8, ACTION.announce);
  v.setUint32(12, transactionId >>> 0);
  b.set(p.infoHash.subarray(0, 20), 16);
  b.set(p.peerId.subarray(0, 20), 36);
  v.setBigUint64(56, BigInt(p.downloaded));
  v.setBigUint64(64, BigInt(p.left));
  v.setBigUint64(72, BigInt(p.uploaded));
  v.setUint32(80, EVENT[p.event ?? 'none']);
  v.setUint32(84, 0); // IP: the sender's
  v.setUint32(88, (p.key ?? 0) >>> 0);
  v.setInt32(92, p.numwant ?? 50);
  v.setUint16(96, p.port);
  return b;
}

export function encodeScrape(
  connectionId: bigint,
  transactionId: number,
  hashes: readonly Uint8Array[],
): Uint8Array {
  const b = new Uint8Array(16 + 20 * hashes.length);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, connectionId);
  v.setUint32(8, ACTION.scrape);
  v.setUint32(12, transactionId >>> 0);
  hashes.forEach((h, i) => {
    b.set(h.subarray(0, 20), 16 + 20 * i);
  });
  return b;
}

/** A decoded UDP tracker response. */
export type UdpResponse =
  | { readonly action: 'connect'; readonly transactionId: number; readonly connectionId: bigint }
  | { readonly action: 'announce'; readonly transactionId: number; readonly reply: AnnounceReply }
  | { readonly action: 'scrape'; readonly transactionId: number; readonly entries: readonly ScrapeEntry[] }
  | { readonly action: 'error'; readonly transactionId: number; readonly message: string };

/**
 * Decodes one datagram from a UDP tracker. `ipv6` says which compact form the announce
 * peers use (BEP 15: it follows the address family of the socket). Never throws.
 */
export function decodeUdpResponse(b: Uint8Array, ipv6 = false): Result<UdpResponse> {
  if (b.length < 8) return fail('BT_TRACKER_BAD_REPLY', `UDP reply of ${b.length} bytes is too short`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const action = v.getUint32(0);
  const transactionId = v.getUint32(4);
  switch (action) {
    case ACTION.connect:
      if (b.length < 16) return fail('BT_TRACKER_BAD_REPLY', 'UDP connect reply too short');
      return ok({ action: 'connect', transactionId, connectionId: v.getBigUint64(8) });
    case ACTION.announce: {
      // opentracker answers a refused announce (hash not whitelisted) with the bare 8-byte header
      if (b.length < 20) return fail('BT_TRACKER_FAILURE', 'the tracker refused the announce (empty reply)');
      const rest = b.subarray(20);
      const peers: PeerAddress[] = ipv6 ? decodeCompactPeers6(rest) : decodeCompactPeers(rest);
      return ok({
        action: 'announce',
        transactionId,
        reply: { interval: v.getUint32(8), incomplete: v.getUint32(12), complete: v.getUint32(16), peers },
      });
    }
    case ACTION.scrape: {
      const entries: ScrapeEntry[] = [];
      for (let at = 8; at + 12 <= b.length; at += 12) {
        entries.push({
          complete: v.getUint32(at),
          downloaded: v.getUint32(at + 4),
          incomplete: v.getUint32(at + 8),
        });
      }
      return ok({ action: 'scrape', transactionId, entries });
    }
    case ACTION.error:
      return ok({
        action: 'error',
        transactionId,
        message: new TextDecoder().decode(b.subarray(8)).slice(0, 500),
      });
    default:
      return fail('BT_TRACKER_BAD_REPLY', `unknown UDP tracker action ${action}`);
  }
}

/** BEP 15 retransmission: wait 15 * 2^n seconds for attempt n (n = 0..8 in the spec). */
export function udpTimeoutMs(attempt: number, baseMs = 15_000): number {
  return baseMs * 2 ** attempt;
}

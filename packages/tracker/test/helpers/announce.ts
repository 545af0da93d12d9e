/** Builders of raw requests for tests: what a real client would put on the wire. */
import { randomBytes } from 'node:crypto';

export function escapeBytes(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += `%${b.toString(16).padStart(2, '0')}`;
  return s;
}

export interface QueryFields {
  infoHash?: Uint8Array;
  peerId?: Uint8Array;
  port?: number | string;
  uploaded?: number;
  downloaded?: number;
  left?: number | string;
  event?: string;
  numwant?: number | string;
  compact?: 0 | 1;
  extra?: string;
}

export function announceQuery(f: QueryFields): string {
  const parts = [
    `info_hash=${escapeBytes(f.infoHash ?? new Uint8Array(20).fill(1))}`,
    `peer_id=${escapeBytes(f.peerId ?? Buffer.from('-TS0001-aaaaaaaaaaaa'))}`,
    `port=${f.port ?? 6881}`,
    `uploaded=${f.uploaded ?? 0}`,
    `downloaded=${f.downloaded ?? 0}`,
    `left=${f.left ?? 1000}`,
  ];
  if (f.event) parts.push(`event=${f.event}`);
  if (f.numwant !== undefined) parts.push(`numwant=${f.numwant}`);
  if (f.compact !== undefined) parts.push(`compact=${f.compact}`);
  if (f.extra) parts.push(f.extra);
  return parts.join('&');
}

export function randomHash(): Uint8Array {
  return randomBytes(20);
}

/** A 20-byte peer id with a client prefix, as Azureus-style clients make them. */
export function peerId(prefix = '-qB4520-', seed = 0): Uint8Array {
  const id = Buffer.alloc(20, 0x61);
  id.write(prefix, 0, 'latin1');
  id.writeUInt32BE(seed, 16);
  return id;
}

/** A BEP 15 announce packet. */
export function udpAnnounce(opts: {
  connectionId: Uint8Array;
  transactionId: number;
  infoHash: Uint8Array;
  peerId: Uint8Array;
  left?: bigint;
  event?: number;
  numwant?: number;
  port?: number;
  extra?: Uint8Array;
}): Buffer {
  const b = Buffer.alloc(98 + (opts.extra?.length ?? 0));
  b.set(opts.connectionId, 0);
  b.writeUInt32BE(1, 8);
  b.writeUInt32BE(opts.transactionId, 12);
  b.set(opts.infoHash, 16);
  b.set(opts.peerId, 36);
  b.writeBigUInt64BE(0n, 56);
  b.writeBigUInt64BE(opts.left ?? 1000n, 64);
  b.writeBigUInt64BE(0n, 72);
  b.writeUInt32BE(opts.event ?? 2, 80);
  b.writeUInt32BE(0, 84);
  b.writeUInt32BE(0x1234, 88);
  b.writeInt32BE(opts.numwant ?? -1, 92);
  b.writeUInt16BE(opts.port ?? 6881, 96);
  if (opts.extra) b.set(opts.extra, 98);
  return b;
}

export function udpConnect(transactionId: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(0x417, 0);
  b.writeUInt32BE(0x27101980, 4);
  b.writeUInt32BE(0, 8);
  b.writeUInt32BE(transactionId, 12);
  return b;
}

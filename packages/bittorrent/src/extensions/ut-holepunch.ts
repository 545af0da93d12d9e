import { fail, ok, type Result } from '../errors.ts';
import type { PeerAddress } from '../transport.ts';

/**
 * BEP 55 `ut_holepunch` messages (binary, not bencoded):
 *
 *   msg_type u8 (0 rendezvous, 1 connect, 2 error) | addr_type u8 (0 IPv4, 1 IPv6)
 *   | addr (4 or 16 bytes) | port u16 | err_code u32
 *
 * A peer that cannot reach a target asks a peer connected to both (the relay) to `rendezvous`
 * with it; the relay sends each of them `connect` with the other's address, and both dial at
 * once (over uTP), which opens each NAT for the other's packets. The relay answers `error`
 * when it cannot.
 */

export type HolepunchType = 'rendezvous' | 'connect' | 'error';

/** BEP 55 error codes. */
export const HOLEPUNCH_ERRORS = {
  noSuchPeer: 1,
  notConnected: 2,
  noSupport: 3,
  noSelf: 4,
} as const;

export interface HolepunchMessage {
  readonly type: HolepunchType;
  readonly address: PeerAddress;
  /** 0 except in `error` messages. */
  readonly error: number;
}

const TYPES: readonly HolepunchType[] = ['rendezvous', 'connect', 'error'];

/** Encodes a message; the address must be IPv4 dotted or IPv6 text. */
export function encodeHolepunch(m: HolepunchMessage): Uint8Array {
  const v4 = parseV4(m.address.host);
  const v6 = v4 ? undefined : parseV6(m.address.host);
  if (!v4 && !v6) throw new RangeError(`not an IP address: ${m.address.host}`);
  if (!Number.isInteger(m.address.port) || m.address.port < 0 || m.address.port > 65535)
    throw new RangeError(`bad port ${m.address.port}`);
  const addr = (v4 ?? v6) as Uint8Array;
  const out = new Uint8Array(2 + addr.length + 6);
  const view = new DataView(out.buffer);
  out[0] = TYPES.indexOf(m.type);
  out[1] = v4 ? 0 : 1;
  out.set(addr, 2);
  view.setUint16(2 + addr.length, m.address.port);
  view.setUint32(4 + addr.length, m.error >>> 0);
  return out;
}

/** Decodes a message; a malformed one is a `BT_HOLEPUNCH_BAD` error. */
export function decodeHolepunch(b: Uint8Array): Result<HolepunchMessage> {
  const bad = (why: string): Result<HolepunchMessage> =>
    fail('BT_HOLEPUNCH_BAD', `bad ut_holepunch message: ${why}`);
  if (b.length < 2) return bad('too short');
  const type = TYPES[b[0] as number];
  if (!type) return bad(`unknown type ${b[0]}`);
  const len = b[1] === 0 ? 4 : b[1] === 1 ? 16 : -1;
  if (len < 0) return bad(`unknown address type ${b[1]}`);
  if (b.length !== 2 + len + 6) return bad(`length ${b.length} for address type ${b[1]}`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const addr = b.subarray(2, 2 + len);
  const host = len === 4 ? [...addr].join('.') : formatV6(addr);
  return ok({ type, address: { host, port: view.getUint16(2 + len) }, error: view.getUint32(4 + len) });
}

function parseV4(host: string): Uint8Array | undefined {
  const parts = host.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) < 256)) return undefined;
  return Uint8Array.from(parts.map(Number));
}

function parseV6(host: string): Uint8Array | undefined {
  if (!host.includes(':') || !/^[0-9a-fA-F:]+$/.test(host)) return undefined;
  const [head = '', tail, extra] = host.split('::');
  if (extra !== undefined) return undefined;
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? 0 : 8 - h.length - t.length;
  const groups = [...h, ...Array<string>(Math.max(0, fill)).fill('0'), ...t];
  if (groups.length !== 8 || (tail === undefined && h.length !== 8) || fill < 0) return undefined;
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = groups[i] as string;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const n = Number.parseInt(g, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 255;
  }
  return out;
}

function formatV6(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((b[i] as number) << 8) | (b[i + 1] as number)).toString(16));
  return groups.join(':');
}

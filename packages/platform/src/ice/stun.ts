/**
 * STUN (RFC 8489, formerly 5389) as far as a public binding server needs it: recognise a
 * binding request among other datagrams on a shared port (the UDP tracker's), and answer it
 * with the sender's address as XOR-MAPPED-ADDRESS plus FINGERPRINT. That is what an ICE
 * agent (a browser, libdatachannel) asks to learn its server-reflexive candidate.
 *
 * The bytes are outside input: every length is checked before it is read, the attribute
 * walk is bounded by the message, and anything else than a well-formed binding request is
 * dropped in silence (no error responses, so the port cannot be used to reflect traffic).
 * The answer is at most 52 bytes for a request of at least 20.
 */

/** The magic cookie of every RFC 5389+ message, bytes 4..7. */
export const STUN_MAGIC_COOKIE = 0x2112a442;
const HEADER = 20;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const ATTR_XOR_MAPPED_ADDRESS = 0x0020;
const ATTR_FINGERPRINT = 0x8028;
const FINGERPRINT_XOR = 0x5354554e;
/** Requests larger than this are not binding requests we answer (a bound on work per packet). */
const MAX_MESSAGE = 548;

export interface StunMessage {
  /** Message type (method and class), e.g. 0x0001 for a binding request. */
  type: number;
  /** The 12-byte transaction id. */
  transactionId: Uint8Array;
  /** Attributes in order: type and value (without padding). */
  attributes: { type: number; value: Uint8Array }[];
}

/**
 * True when `packet` looks like a STUN message: first two bits zero, the magic cookie, and
 * a length that matches the datagram (a multiple of 4). Demultiplexing on a port shared with
 * BEP 15: a tracker connect starts with its protocol id (bytes 4..7 are 0x27101980), and an
 * announce or scrape with a connection id the tracker issued, whose chance of carrying the
 * cookie and the exact length is below 2^-40.
 */
export function isStun(packet: Uint8Array): boolean {
  if (packet.length < HEADER || packet.length > MAX_MESSAGE) return false;
  if ((packet[0] as number) & 0xc0) return false;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const length = view.getUint16(2);
  return view.getUint32(4) === STUN_MAGIC_COOKIE && length % 4 === 0 && length + HEADER === packet.length;
}

/** Parses a STUN message, or null when it is not one (bad lengths, a bad FINGERPRINT). */
export function parseStun(packet: Uint8Array): StunMessage | null {
  if (!isStun(packet)) return null;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const attributes: StunMessage['attributes'] = [];
  let at = HEADER;
  while (at < packet.length) {
    if (at + 4 > packet.length) return null;
    const type = view.getUint16(at);
    const length = view.getUint16(at + 2);
    const end = at + 4 + length;
    if (end > packet.length) return null;
    if (type === ATTR_FINGERPRINT) {
      // FINGERPRINT is last, 4 bytes, and covers everything before it.
      if (length !== 4 || end !== packet.length) return null;
      const want = (crc32(packet.subarray(0, at)) ^ FINGERPRINT_XOR) >>> 0;
      if (view.getUint32(at + 4) !== want) return null;
    }
    attributes.push({ type, value: packet.slice(at + 4, end) });
    at = end + ((4 - (length % 4)) % 4);
  }
  if (at !== packet.length) return null;
  return { type: view.getUint16(0), transactionId: packet.slice(8, 20), attributes };
}

/**
 * The answer to a binding request from `address`:`port` (IPv4 dotted, or IPv6 text, or an
 * IPv4-mapped IPv6 address), or null when `packet` is anything else. Attributes of the
 * request are not interpreted: a binding server without credentials answers any well-formed
 * request, and ICE agents differ in what they add (SOFTWARE, PRIORITY, USERNAME).
 */
export function answerStunBinding(packet: Uint8Array, address: string, port: number): Uint8Array | null {
  const msg = parseStun(packet);
  if (!msg || msg.type !== BINDING_REQUEST) return null;
  const ip = addressBytes(address);
  if (!ip || !Number.isInteger(port) || port < 0 || port > 65535) return null;
  return encodeBindingSuccess(msg.transactionId, ip, port);
}

/** A binding success response carrying XOR-MAPPED-ADDRESS and FINGERPRINT. */
export function encodeBindingSuccess(transactionId: Uint8Array, ip: Uint8Array, port: number): Uint8Array {
  const family = ip.length === 4 ? 0x01 : 0x02;
  const attrLength = 4 + ip.length;
  const total = HEADER + 4 + attrLength + 8;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint16(0, BINDING_SUCCESS);
  view.setUint16(2, total - HEADER);
  view.setUint32(4, STUN_MAGIC_COOKIE);
  out.set(transactionId.subarray(0, 12), 8);
  let at = HEADER;
  view.setUint16(at, ATTR_XOR_MAPPED_ADDRESS);
  view.setUint16(at + 2, attrLength);
  view.setUint8(at + 5, family);
  view.setUint16(at + 6, port ^ (STUN_MAGIC_COOKIE >>> 16));
  // The address is XORed with the cookie (and, for IPv6, the transaction id after it).
  for (let i = 0; i < ip.length; i++) out[at + 8 + i] = (ip[i] as number) ^ (out[4 + i] as number);
  at += 4 + attrLength;
  view.setUint16(at, ATTR_FINGERPRINT);
  view.setUint16(at + 2, 4);
  view.setUint32(at + 4, (crc32(out.subarray(0, at)) ^ FINGERPRINT_XOR) >>> 0);
  return out;
}

/** A binding request (for clients and tests), with FINGERPRINT. */
export function encodeBindingRequest(transactionId: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + 8);
  const view = new DataView(out.buffer);
  view.setUint16(0, BINDING_REQUEST);
  view.setUint16(2, 8);
  view.setUint32(4, STUN_MAGIC_COOKIE);
  out.set(transactionId.subarray(0, 12), 8);
  view.setUint16(HEADER, ATTR_FINGERPRINT);
  view.setUint16(HEADER + 2, 4);
  view.setUint32(HEADER + 4, (crc32(out.subarray(0, HEADER)) ^ FINGERPRINT_XOR) >>> 0);
  return out;
}

/** The XOR-MAPPED-ADDRESS of a binding success response, or null. */
export function mappedAddressOf(packet: Uint8Array): { address: string; port: number } | null {
  const msg = parseStun(packet);
  if (!msg || msg.type !== BINDING_SUCCESS) return null;
  const attr = msg.attributes.find((a) => a.type === ATTR_XOR_MAPPED_ADDRESS);
  if (!attr || attr.value.length < 8) return null;
  const family = attr.value[1];
  const n = family === 0x01 ? 4 : family === 0x02 ? 16 : 0;
  if (!n || attr.value.length !== 4 + n) return null;
  const port = (((attr.value[2] as number) << 8) | (attr.value[3] as number)) ^ (STUN_MAGIC_COOKIE >>> 16);
  const ip = Array.from(attr.value.subarray(4), (b, i) => b ^ (packet[4 + i] as number));
  const address =
    n === 4
      ? ip.join('.')
      : Array.from({ length: 8 }, (_, i) =>
          (((ip[2 * i] as number) << 8) | (ip[2 * i + 1] as number)).toString(16),
        ).join(':');
  return { address, port };
}

function addressBytes(address: string): Uint8Array | null {
  const v4 = /^(?:::ffff:)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/i.exec(address);
  if (v4) {
    const parts = v4.slice(1).map(Number);
    return parts.every((p) => p <= 255) ? Uint8Array.from(parts) : null;
  }
  if (!address.includes(':') || address.length > 45) return null;
  const [head = '', tail, extra] = address.split('::');
  if (extra !== undefined) return null;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const missing = 8 - h.length - t.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return null;
  const all = [...h, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...t];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = all[i] as string;
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return null;
    const n = Number.parseInt(g, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  }
  return out;
}

let table: Uint32Array | null = null;
/** CRC-32 (ISO 3309), as FINGERPRINT uses. */
function crc32(bytes: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const b of bytes) crc = (table[(crc ^ b) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

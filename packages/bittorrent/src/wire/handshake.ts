import { HANDSHAKE_LENGTH, type Handshake } from './messages.ts';

/** "\x13BitTorrent protocol": the first 20 bytes of every BEP 3 handshake. */
export const PROTOCOL_HEADER: Uint8Array = /* @__PURE__ */ (() => {
  const pstr = 'BitTorrent protocol';
  const out = new Uint8Array(20);
  out[0] = pstr.length;
  for (let i = 0; i < pstr.length; i++) out[i + 1] = pstr.charCodeAt(i);
  return out;
})();

/** What we announce in our handshake. */
export interface HandshakeOptions {
  /** 20 bytes. */
  readonly infoHash: Uint8Array;
  /** 20 bytes. */
  readonly peerId: Uint8Array;
  /** Advertise the fast extension (BEP 6). */
  readonly fast?: boolean;
  /** Advertise the extension protocol (BEP 10). */
  readonly extended?: boolean;
  /** Advertise a DHT node (BEP 5; send a `port` message after the handshake). */
  readonly dht?: boolean;
  /** Advertise the v2 upgrade (BEP 52). */
  readonly v2?: boolean;
}

/** Encodes a 68-byte handshake. Throws (programmer error) on ids of the wrong length. */
export function encodeHandshake(options: HandshakeOptions): Uint8Array {
  if (options.infoHash.length !== 20 || options.peerId.length !== 20) {
    throw new RangeError('handshake info-hash and peer id must be 20 bytes each');
  }
  const out = new Uint8Array(HANDSHAKE_LENGTH);
  out.set(PROTOCOL_HEADER, 0);
  if (options.extended) out[20 + 5] = 0x10;
  let last = 0;
  if (options.dht) last |= 0x01;
  if (options.fast) last |= 0x04;
  if (options.v2) last |= 0x10;
  out[20 + 7] = last;
  out.set(options.infoHash, 28);
  out.set(options.peerId, 48);
  return out;
}

/** Decodes 68 bytes known to hold a handshake; `undefined` when the protocol string is wrong. */
export function decodeHandshake(bytes: Uint8Array): Handshake | undefined {
  for (let i = 0; i < 20; i++) if (bytes[i] !== PROTOCOL_HEADER[i]) return undefined;
  const reserved = bytes.slice(20, 28);
  const last = reserved[7] as number;
  return {
    type: 'handshake',
    reserved,
    infoHash: bytes.slice(28, 48),
    peerId: bytes.slice(48, 68),
    fast: (last & 0x04) !== 0,
    extended: ((reserved[5] as number) & 0x10) !== 0,
    dht: (last & 0x01) !== 0,
    v2: (last & 0x10) !== 0,
  };
}

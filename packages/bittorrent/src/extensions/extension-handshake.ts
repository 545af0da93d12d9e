import {
  type BDict,
  type BEncodable,
  decodeBencode,
  encodeBencode,
  isBytes,
  isDict,
  isInt,
} from '../bencode.ts';
import { type BtError, fail, ok, type Result } from '../errors.ts';

/** Largest metadata (info dictionary) we accept from peers: 8 MiB, far above real torrents. */
export const MAX_METADATA_SIZE = 8 * 1024 * 1024;
/** Our extension names and the ids we assign them (BEP 10: ids are per direction). */
export const LOCAL_EXTENSION_IDS = { ut_metadata: 1, ut_pex: 2, ut_holepunch: 4 } as const;

/** A BEP 10 extension handshake, with the fields we use. */
export interface ExtensionHandshake {
  /** Extension name -> message id the sender wants to receive it under (0 = disabled). */
  readonly m: Readonly<Record<string, number>>;
  /** Client name and version. */
  readonly v?: string;
  /** The sender's listen port. */
  readonly p?: number;
  /** How many outstanding requests the sender queues. */
  readonly reqq?: number;
  /** BEP 9: size of the info dictionary in bytes. */
  readonly metadataSize?: number;
  /** Our address as the sender sees it (4 or 16 bytes). */
  readonly yourip?: Uint8Array;
  /** The sender's own addresses (16 / 4 bytes). */
  readonly ipv6?: Uint8Array;
  readonly ipv4?: Uint8Array;
  /** BEP 21: the sender only uploads (a partial seed). */
  readonly uploadOnly?: boolean;
}

/** Encodes an extension handshake (payload of extended message id 0). */
export function encodeExtensionHandshake(h: ExtensionHandshake): Uint8Array {
  const dict: Record<string, BEncodable | undefined> = {
    m: { ...h.m },
    v: h.v,
    p: h.p,
    reqq: h.reqq,
    metadata_size: h.metadataSize,
    yourip: h.yourip,
    ipv6: h.ipv6,
    ipv4: h.ipv4,
    upload_only: h.uploadOnly ? 1 : undefined,
  };
  return encodeBencode(dict);
}

function bad(message: string): { readonly ok: false; readonly error: BtError } {
  return fail('BT_EXT_BAD_HANDSHAKE', message);
}

/**
 * Decodes a peer's extension handshake. Unknown keys are ignored (BEP 10); known keys with
 * the wrong type or out of range are dropped rather than trusted, except `m`, which must be
 * a dictionary of small integers.
 */
export function decodeExtensionHandshake(payload: Uint8Array): Result<ExtensionHandshake> {
  const d = decodeBencode(payload, { maxBytes: 64 * 1024, maxDepth: 8, maxItems: 4096 });
  if (!d.ok) return bad(`not bencode: ${d.error.message}`);
  const root = d.value.value;
  if (!isDict(root)) return bad('not a dictionary');
  const mRaw = root.m;
  if (mRaw !== undefined && !isDict(mRaw)) return bad('m is not a dictionary');
  const m: Record<string, number> = {};
  for (const [name, id] of Object.entries((mRaw ?? {}) as BDict)) {
    if (!isInt(id) || id < 0 || id > 255) return bad(`m.${name} is not a message id`);
    m[name] = id;
  }
  const out: { -readonly [K in keyof ExtensionHandshake]: ExtensionHandshake[K] } = { m };
  if (isBytes(root.v) && root.v.length <= 256) out.v = new TextDecoder().decode(root.v);
  if (isInt(root.p) && root.p > 0 && root.p < 65536) out.p = root.p;
  if (isInt(root.reqq) && root.reqq > 0) out.reqq = root.reqq;
  if (isInt(root.metadata_size)) {
    if (root.metadata_size <= 0 || root.metadata_size > MAX_METADATA_SIZE) {
      return bad(`metadata_size ${root.metadata_size} out of range`);
    }
    out.metadataSize = root.metadata_size;
  }
  if (isBytes(root.yourip) && (root.yourip.length === 4 || root.yourip.length === 16))
    out.yourip = root.yourip;
  if (isBytes(root.ipv6) && root.ipv6.length === 16) out.ipv6 = root.ipv6;
  if (isBytes(root.ipv4) && root.ipv4.length === 4) out.ipv4 = root.ipv4;
  if (isInt(root.upload_only) && root.upload_only !== 0) out.uploadOnly = true;
  return ok(out);
}

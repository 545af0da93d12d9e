import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';

/**
 * Ed25519 for BEP 44 mutable items, with Node's own crypto (no native addon): a show's
 * key signs `salt? seq v` (the bencoded tail BEP 44 defines; the DHT library builds it),
 * and every DHT node verifies before storing or returning an item.
 */
const spkiPrefix = Buffer.from('302a300506032b6570032100', 'hex');

export interface Ed25519Keys {
  /** The 32-byte public key (the BEP 46 magnet's `urn:btpk:`). */
  publicKey: Uint8Array;
  /** PKCS#8 DER of the private key (what a node stores). */
  privateKeyDer: Uint8Array;
}

export function generateEd25519(): Ed25519Keys {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicKey: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(spkiPrefix.length)),
    privateKeyDer: new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' })),
  };
}

function publicKeyObject(raw: Uint8Array): KeyObject | null {
  if (raw.length !== 32) return null;
  try {
    return createPublicKey({ key: Buffer.concat([spkiPrefix, raw]), format: 'der', type: 'spki' });
  } catch {
    return null;
  }
}

/** BEP 44's verify(signature, message, publicKey); false for anything malformed. */
export function verifyEd25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  const key = publicKeyObject(publicKey);
  if (!key || signature.length !== 64) return false;
  try {
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** A signer over a PKCS#8 private key (for DhtNode.putMutable). */
export function ed25519Signer(privateKeyDer: Uint8Array): (message: Uint8Array) => Buffer {
  const key = createPrivateKey({ key: Buffer.from(privateKeyDer), format: 'der', type: 'pkcs8' });
  return (message) => sign(null, message, key);
}

/** BEP 46: `magnet:?xs=urn:btpk:<64 hex>[&s=<hex salt>]`. */
export function mutableMagnet(publicKey: Uint8Array, salt?: Uint8Array): string {
  const hex = Buffer.from(publicKey).toString('hex');
  return `magnet:?xs=urn:btpk:${hex}${salt?.length ? `&s=${Buffer.from(salt).toString('hex')}` : ''}`;
}

/** The public key and salt of a BEP 46 magnet, or null (outside text: strictly checked). */
export function parseMutableMagnet(uri: string): { publicKey: Uint8Array; salt: Uint8Array | null } | null {
  if (!uri.startsWith('magnet:?') || uri.length > 2048) return null;
  const params = new URLSearchParams(uri.slice('magnet:?'.length));
  const xs = params.get('xs') ?? '';
  const m = /^urn:btpk:([0-9a-fA-F]{64})$/.exec(xs);
  if (!m) return null;
  const s = params.get('s');
  if (s !== null && !/^([0-9a-fA-F]{2}){1,64}$/.test(s)) return null;
  return {
    publicKey: new Uint8Array(Buffer.from(m[1] as string, 'hex')),
    salt: s ? new Uint8Array(Buffer.from(s, 'hex')) : null,
  };
}

import { createHash, randomBytes } from 'node:crypto';
import { MSE_KEY_BYTES, MSE_PRIME, type MseCrypto } from '../mse/mse-handshake.ts';

const P = BigInt(`0x${MSE_PRIME}`);

/**
 * Modular exponentiation with BigInt. Not OpenSSL's DiffieHellman: creating one checks the
 * prime every time (about 170 ms a connection here), while this takes about a millisecond
 * for MSE's 160-bit private exponents.
 */
function modPow(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = base % P;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
  }
  return result;
}

const toBig = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).toString('hex') || '0'}`);
/** A number as MSE's 96 big-endian bytes. */
const toBytes = (n: bigint) =>
  new Uint8Array(Buffer.from(n.toString(16).padStart(MSE_KEY_BYTES * 2, '0'), 'hex'));

/** MSE's Diffie-Hellman, SHA-1 and randomness from OpenSSL. */
export const nodeMseCrypto: MseCrypto = {
  keyPair() {
    // A 160-bit private key, as libtorrent and Vuze use: the exchange only obfuscates.
    const x = toBig(randomBytes(20));
    return {
      publicKey: toBytes(modPow(2n, x)),
      secret: (theirs) => toBytes(modPow(toBig(theirs), x)),
    };
  },
  sha1(...parts) {
    const h = createHash('sha1');
    for (const p of parts) h.update(p);
    return new Uint8Array(h.digest());
  },
  random: (n) => new Uint8Array(randomBytes(n)),
};

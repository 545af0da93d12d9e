/**
 * Stateless, unforgeable UDP connection ids (BEP 15). The id is SipHash-2-4, under a
 * secret key, of (time window, sender address, sender port): the server keeps no table of
 * connections, yet a spoofed source address cannot obtain a valid id without receiving our
 * reply. An id is accepted in its own window and the next, so it lives between one and two
 * windows (BEP 15 asks clients to reuse one for up to a minute).
 */
import { type SipKey, sipHash24, sipKey } from '../internal/siphash.ts';
import { ipBytes } from './address.ts';

export interface ConnectionIds {
  issue(ip: string, port: number, now: number): Uint8Array;
  verify(id: Uint8Array, ip: string, port: number, now: number): boolean;
}

export function connectionIds(secret: Uint8Array, windowMs = 120_000): ConnectionIds {
  const key: SipKey = sipKey(secret);
  const input = new Uint8Array(4 + 16 + 2);
  const out = new Uint8Array(8);
  const compute = (window: number, ip: string, port: number): Uint8Array | null => {
    const addr = ipBytes(ip);
    if (!addr) return null;
    input[0] = window >>> 24;
    input[1] = (window >>> 16) & 0xff;
    input[2] = (window >>> 8) & 0xff;
    input[3] = window & 0xff;
    input.set(addr, 4);
    input[4 + addr.length] = port >> 8;
    input[5 + addr.length] = port & 0xff;
    sipHash24(key, input.subarray(0, 6 + addr.length), out);
    return out;
  };
  const equal = (a: Uint8Array, b: Uint8Array): boolean => {
    for (let i = 0; i < 8; i++) if (a[i] !== b[i]) return false;
    return true;
  };
  return {
    issue(ip, port, now) {
      const id = compute(Math.floor(now / windowMs) >>> 0, ip, port);
      return id ? id.slice() : new Uint8Array(8);
    },
    verify(id, ip, port, now) {
      if (id.length !== 8) return false;
      const window = Math.floor(now / windowMs);
      const current = compute(window >>> 0, ip, port);
      if (current && equal(current, id)) return true;
      const previous = compute((window - 1) >>> 0, ip, port);
      return previous !== null && equal(previous, id);
    },
  };
}

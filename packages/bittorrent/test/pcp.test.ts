import { describe, expect, it } from 'vitest';
import { encodePcpMapRequest, parsePcpResponse } from '../src/node/pcp.ts';
import { prng, randomBytes } from './prng.ts';

const nonce = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);

/** A MAP response as a router writes it (RFC 6887 sections 7.2 and 11.1). */
function response(result: number, externalPort = 40000, address = [11, 2, 3, 10]): Uint8Array {
  const b = new Uint8Array(60);
  const v = new DataView(b.buffer);
  b[0] = 2;
  b[1] = 0x80 | 1;
  b[3] = result;
  v.setUint32(4, 7200);
  v.setUint32(8, 99);
  b.set(nonce, 24);
  b[36] = 6;
  v.setUint16(40, 6881);
  v.setUint16(42, externalPort);
  b[54] = 0xff;
  b[55] = 0xff;
  b.set(address, 56);
  return b;
}

describe('PCP (RFC 6887) MAP messages', () => {
  it('encodes a MAP request byte for byte: header with our mapped address, then the opcode body', () => {
    const b = encodePcpMapRequest({
      protocol: 'tcp',
      internalPort: 6881,
      suggestedExternalPort: 6882,
      lifetimeSeconds: 3600,
      clientAddress: '192.168.7.2',
      nonce,
    });
    expect(b.length).toBe(60);
    expect([...b.subarray(0, 24)]).toEqual([
      2, 1, 0, 0, 0, 0, 0x0e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 7, 2,
    ]);
    expect([...b.subarray(24, 36)]).toEqual([...nonce]);
    expect([...b.subarray(36, 44)]).toEqual([6, 0, 0, 0, 0x1a, 0xe1, 0x1a, 0xe2]);
    expect([...b.subarray(44, 60)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0]);
    expect(
      encodePcpMapRequest({
        protocol: 'udp',
        internalPort: 1,
        suggestedExternalPort: 1,
        lifetimeSeconds: 0,
        clientAddress: '10.0.0.1',
        nonce,
      })[36],
    ).toBe(17);
  });

  it('reads a granted mapping, a refusal, and a NAT-PMP router saying "unsupported version"', () => {
    expect(parsePcpResponse(response(0))).toEqual({
      kind: 'map',
      result: 0,
      lifetime: 7200,
      epoch: 99,
      nonce,
      protocol: 6,
      internalPort: 6881,
      externalPort: 40000,
      externalAddress: '11.2.3.10',
    });
    expect(parsePcpResponse(response(2))).toEqual({ kind: 'error', version: 2, result: 2 });
    // An error may come as the bare header.
    expect(parsePcpResponse(response(8).subarray(0, 24))).toEqual({ kind: 'error', version: 2, result: 8 });
    expect(parsePcpResponse(new Uint8Array([0, 129, 0, 1, 0, 0, 0, 5]))).toEqual({
      kind: 'error',
      version: 0,
      result: 1,
    });
  });

  it('refuses what is not a router answer: requests, truncations, other opcodes, IPv6 external addresses', () => {
    const request = encodePcpMapRequest({
      protocol: 'tcp',
      internalPort: 1,
      suggestedExternalPort: 1,
      lifetimeSeconds: 1,
      clientAddress: '10.0.0.1',
      nonce,
    });
    expect(parsePcpResponse(request)).toBeNull();
    expect(parsePcpResponse(response(0).subarray(0, 59))).toBeNull();
    expect(parsePcpResponse(response(0).subarray(0, 23))).toBeNull();
    const peer = response(0);
    peer[1] = 0x80 | 2; // PEER opcode: not asked for
    expect(parsePcpResponse(peer)).toBeNull();
    const v6 = response(0);
    v6[54] = 0;
    v6[44] = 0x20;
    expect(parsePcpResponse(v6)).toBeNull();
    expect(parsePcpResponse(new Uint8Array([3, 0x81, 0, 0]))).toBeNull();
    expect(parsePcpResponse(new Uint8Array(0))).toBeNull();
  });

  it('fuzz: random datagrams never throw and parse only into well-formed values', () => {
    const rnd = prng(6887);
    for (let i = 0; i < 5_000; i++) {
      const b = rnd() < 0.5 ? randomBytes(rnd, Math.floor(rnd() * 70)) : response(Math.floor(rnd() * 14));
      if (rnd() < 0.5) for (let k = 0; k < 3; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      const r = parsePcpResponse(b);
      if (!r) continue;
      if (r.kind === 'map') {
        expect(r.result).toBe(0);
        expect(r.externalAddress).toMatch(/^\d{1,3}(\.\d{1,3}){3}$/);
        expect(r.externalPort).toBeLessThan(65536);
        expect(r.nonce.length).toBe(12);
      } else expect([0, 2]).toContain(r.version);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { encodeExternalAddressRequest, encodeMapRequest, parseNatPmpResponse } from '../src/node/nat-pmp.ts';
import { prng, randomBytes } from './prng.ts';

describe('NAT-PMP (RFC 6886) messages', () => {
  it('encodes the external-address and mapping requests byte for byte', () => {
    expect([...encodeExternalAddressRequest()]).toEqual([0, 0]);
    expect([...encodeMapRequest('tcp', 6881, 6882, 3600)]).toEqual([
      0, 2, 0, 0, 0x1a, 0xe1, 0x1a, 0xe2, 0, 0, 0x0e, 0x10,
    ]);
    expect(encodeMapRequest('udp', 1, 0, 0)[1]).toBe(1);
  });

  it('reads address and mapping responses', () => {
    expect(parseNatPmpResponse(new Uint8Array([0, 128, 0, 0, 0, 0, 1, 0, 11, 2, 3, 10]))).toEqual({
      op: 'address',
      result: 0,
      epoch: 256,
      address: '11.2.3.10',
    });
    const map = new Uint8Array([0, 130, 0, 0, 0, 0, 0, 9, 0x1a, 0xe1, 0x9c, 0x40, 0, 0, 0x0e, 0x10]);
    expect(parseNatPmpResponse(map)).toEqual({
      op: 'tcp',
      result: 0,
      epoch: 9,
      internalPort: 6881,
      externalPort: 40000,
      lifetime: 3600,
    });
    map[1] = 129;
    map[3] = 2;
    expect(parseNatPmpResponse(map)).toMatchObject({ op: 'udp', result: 2 });
  });

  it('refuses what is not a gateway response: requests, other versions, truncations', () => {
    expect(parseNatPmpResponse(encodeMapRequest('tcp', 1, 1, 1))).toBeNull();
    expect(parseNatPmpResponse(new Uint8Array([2, 128, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]))).toBeNull(); // PCP
    expect(parseNatPmpResponse(new Uint8Array([0, 128, 0, 0, 0, 0, 0, 0, 1, 2, 3]))).toBeNull();
    expect(parseNatPmpResponse(new Uint8Array([0, 130, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7]))).toBeNull();
    expect(parseNatPmpResponse(new Uint8Array(0))).toBeNull();
  });

  it('fuzz: random datagrams never throw and parse only into well-formed values', () => {
    const rnd = prng(6886);
    for (let i = 0; i < 5_000; i++) {
      const b = randomBytes(rnd, Math.floor(rnd() * 24));
      if (rnd() < 0.5 && b.length > 1) {
        b[0] = 0;
        b[1] = 128 + Math.floor(rnd() * 3);
      }
      const r = parseNatPmpResponse(b);
      if (!r) continue;
      if (r.op === 'address') expect(r.address).toMatch(/^\d{1,3}(\.\d{1,3}){3}$/);
      else {
        expect(r.externalPort).toBeLessThan(65536);
        expect(r.internalPort).toBeLessThan(65536);
      }
    }
  });
});

import { describe, expect, it } from 'vitest';
import { answerStunBinding, encodeBindingRequest, isStun, mappedAddressOf, parseStun } from '../src/index.ts';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const tid = hex('b7e7a701bc34d686fa87dfae');

// RFC 5769 section 2.2: sample IPv4 response (SOFTWARE, XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FINGERPRINT).
const rfc5769Response = hex(`
  0101 003c 2112 a442 b7e7 a701 bc34 d686 fa87 dfae
  8022 000b 7465 7374 2076 6563 746f 7220
  0020 0008 0001 a147 e112 a643
  0008 0014 2b91 f599 fd9e 90c3 8c74 89f9 2af9 ba53 f06b e7d7
  8028 0004 c07d 4c96`);

describe('STUN binding (RFC 8489)', () => {
  it('reads the RFC 5769 sample response: fingerprint checked, XOR-MAPPED-ADDRESS 192.0.2.1:32853', () => {
    const msg = parseStun(rfc5769Response);
    expect(msg?.type).toBe(0x0101);
    expect(msg?.attributes.map((a) => a.type)).toEqual([0x8022, 0x0020, 0x0008, 0x8028]);
    expect(mappedAddressOf(rfc5769Response)).toEqual({ address: '192.0.2.1', port: 32853 });
    const broken = rfc5769Response.slice();
    broken[broken.length - 1] = (broken[broken.length - 1] as number) ^ 1;
    expect(parseStun(broken)).toBeNull();
  });

  it('answers a binding request with the sender as XOR-MAPPED-ADDRESS, transaction id kept', () => {
    const req = encodeBindingRequest(tid);
    expect(isStun(req)).toBe(true);
    const res = answerStunBinding(req, '192.0.2.1', 32853) as Uint8Array;
    expect(res).not.toBeNull();
    expect(Buffer.from(res.subarray(8, 20)).equals(Buffer.from(tid))).toBe(true);
    expect(mappedAddressOf(res)).toEqual({ address: '192.0.2.1', port: 32853 });
    // The XORed bytes are the RFC's (same address, port and cookie).
    expect(Buffer.from(res.subarray(24, 32)).toString('hex')).toBe('0001a147e112a643');
    expect(res.length).toBe(40);
  });

  it('maps IPv4-mapped IPv6 to IPv4 and answers IPv6 (XOR with the transaction id)', () => {
    const req = encodeBindingRequest(tid);
    expect(mappedAddressOf(answerStunBinding(req, '::ffff:10.1.2.3', 4000) as Uint8Array)).toEqual({
      address: '10.1.2.3',
      port: 4000,
    });
    const v6 = answerStunBinding(req, '2001:db8:1234:5678:11:2233:4455:6677', 32853) as Uint8Array;
    expect(v6.length).toBe(52);
    expect(mappedAddressOf(v6)).toEqual({ address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 });
    expect(mappedAddressOf(answerStunBinding(req, '::1', 1) as Uint8Array)?.address).toBe('0:0:0:0:0:0:0:1');
  });

  it('answers a request without FINGERPRINT and one with extra attributes', () => {
    const bare = encodeBindingRequest(tid).slice(0, 20);
    bare[3] = 0;
    expect(answerStunBinding(bare, '1.2.3.4', 5)).not.toBeNull();
    // SOFTWARE "ab" padded to 4: a well-formed optional attribute.
    const soft = hex('0001 0008 2112a442 b7e7a701bc34d686fa87dfae 8022 0002 6162 0000');
    expect(answerStunBinding(soft, '1.2.3.4', 5)).not.toBeNull();
  });

  it('is not fooled by BEP 15 tracker packets on the shared port', () => {
    const connect = hex('0000041727101980 00000000 deadbeef');
    expect(isStun(connect)).toBe(false);
    const announce = new Uint8Array(98);
    announce.set(hex('1122334455667788 00000001'));
    expect(isStun(announce)).toBe(false);
  });

  const hostile: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['short header', hex('0001000021 12a442')],
    ['length beyond the datagram', hex('0001 0008 2112a442 b7e7a701bc34d686fa87dfae')],
    ['length not a multiple of 4', hex('0001 0002 2112a442 b7e7a701bc34d686fa87dfae 0000')],
    ['top bits set (RTP/DTLS)', hex('8001 0000 2112a442 b7e7a701bc34d686fa87dfae')],
    ['wrong cookie (RFC 3489)', hex('0001 0000 2112a443 b7e7a701bc34d686fa87dfae')],
    ['attribute overruns the message', hex('0001 0004 2112a442 b7e7a701bc34d686fa87dfae 8022 0010')],
    ['attribute header cut', hex('0001 0004 2112a442 b7e7a701bc34d686fa87dfae 8022 0000 0000'.slice(0, 58))],
    [
      'fingerprint not last',
      hex('0001 0010 2112a442 b7e7a701bc34d686fa87dfae 8028 0004 00000000 8022 0000 0000 0000'),
    ],
    [
      'fingerprint of wrong length',
      hex('0001 000c 2112a442 b7e7a701bc34d686fa87dfae 8028 0008 0000000000000000'),
    ],
    ['a response, not a request', rfc5769Response],
    ['an indication', hex('0011 0000 2112a442 b7e7a701bc34d686fa87dfae')],
    [
      'oversized',
      (() => {
        const b = new Uint8Array(1020);
        b.set(hex('0001 03e8 2112a442'));
        return b;
      })(),
    ],
  ];
  for (const [name, packet] of hostile) {
    it(`drops ${name} in silence`, () => {
      expect(answerStunBinding(packet, '1.2.3.4', 5)).toBeNull();
    });
  }

  it('refuses to answer for a malformed sender address', () => {
    const req = encodeBindingRequest(tid);
    for (const a of [
      '',
      '1.2.3',
      '256.1.1.1',
      '::1::2',
      'fe80::1%eth0',
      'example.com',
      '1:2:3:4:5:6:7:8:9',
    ]) {
      expect(answerStunBinding(req, a, 5), a).toBeNull();
    }
    expect(answerStunBinding(req, '1.2.3.4', 70000)).toBeNull();
  });

  it('never throws, and answers small (<= 52 bytes), on random and mutated datagrams (seeded fuzz)', () => {
    let seed = 12;
    const rnd = () => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed;
    };
    const valid = encodeBindingRequest(tid);
    let answered = 0;
    for (let i = 0; i < 20_000; i++) {
      let b: Uint8Array;
      if (i % 2 === 0) {
        // Random bytes with a STUN-shaped header half the time, so the attribute walk runs.
        const len = 20 + (rnd() % 120);
        b = new Uint8Array(len);
        for (let j = 0; j < len; j++) b[j] = rnd() & 0xff;
        if (i % 4 === 0) {
          b[0] = 0;
          b[1] = 1;
          b[2] = ((len - 20) >> 8) & 0xff;
          b[3] = (len - 20) & 0xff;
          b.set([0x21, 0x12, 0xa4, 0x42], 4);
        }
      } else {
        // A valid request with a few bytes flipped or cut.
        b = valid.slice(0, valid.length - (rnd() % 3 === 0 ? rnd() % valid.length : 0));
        for (let k = rnd() % 3; k >= 0; k--) {
          if (b.length === 0) break;
          const at = rnd() % b.length;
          b[at] = (b[at] as number) ^ (1 << (rnd() % 8));
        }
      }
      let res: Uint8Array | null = null;
      expect(() => {
        res = answerStunBinding(b, '10.0.0.1', 1234);
        parseStun(b);
        mappedAddressOf(b);
      }, `seed 12, iteration ${i}`).not.toThrow();
      if (res) {
        answered++;
        expect((res as Uint8Array).length).toBeLessThanOrEqual(52);
        expect(mappedAddressOf(res)).toEqual({ address: '10.0.0.1', port: 1234 });
      }
    }
    // Some mutations keep a request valid (e.g. a flipped transaction id bit with no FINGERPRINT check).
    expect(answered).toBeGreaterThan(0);
  });
});

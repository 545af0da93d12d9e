import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { memoryTransportPair } from '../src/memory-transport.ts';
import { acceptMse, initiateMse, type MseResult } from '../src/mse/mse-handshake.ts';
import { Rc4 } from '../src/mse/rc4.ts';
import { nodeMseCrypto } from '../src/node/mse-crypto.ts';
import { SwarmNode } from '../src/node/swarm-node.ts';
import { systemTimers } from '../src/timers.ts';
import type { Transport } from '../src/transport.ts';
import { encodeHandshake } from '../src/wire/handshake.ts';
import { prng, randomBytes } from './prng.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const options = {
  crypto: nodeMseCrypto,
  setTimeout: systemTimers.setTimeout.bind(systemTimers),
  timeoutMs: 3_000,
};

describe('RC4', () => {
  it('matches the published test vectors', () => {
    const enc = (key: string, text: string) =>
      hex(new Rc4(new TextEncoder().encode(key)).apply(new TextEncoder().encode(text)));
    expect(enc('Key', 'Plaintext')).toBe('bbf316e8d940af0ad3');
    expect(enc('Wiki', 'pedia')).toBe('1021bf0420');
    expect(enc('Secret', 'Attack at dawn')).toBe('45a01f645fc35b383552544b9bf5');
  });

  it('peek shows the key stream without advancing it', () => {
    const a = new Rc4(Uint8Array.of(1, 2, 3));
    const seen = a.peek(16);
    expect(hex(a.apply(new Uint8Array(16)))).toBe(hex(seen));
  });
});

/** Collects what a transport delivers. */
function sink(t: Transport): { bytes: () => Buffer; closed: () => boolean } {
  const got: Uint8Array[] = [];
  let closed = false;
  t.start({
    data: (c) => got.push(c.slice()),
    drain: () => {},
    close: () => {
      closed = true;
    },
  });
  return { bytes: () => Buffer.concat(got), closed: () => closed };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
};

describe('MSE/PE handshake over a memory pair', () => {
  const skey = new Uint8Array(20).fill(7);

  it('agrees on RC4 and carries bytes both ways, encrypted on the wire', async () => {
    const [a, b] = memoryTransportPair();
    const wire: Uint8Array[] = [];
    const write = b.write.bind(b);
    // Everything B sends after the handshake must not show the plain text.
    b.write = (c) => {
      wire.push(c.slice());
      return write(c);
    };
    const [ra, rb] = (await Promise.all([
      initiateMse(a, skey, 'require', options),
      acceptMse(b, new Uint8Array(0), () => [new Uint8Array(20).fill(1), skey], 'require', options),
    ])) as [MseResult, MseResult];
    expect(ra.rc4 && rb.rc4).toBe(true);
    expect(hex(rb.skey)).toBe(hex(skey));
    const atA = sink(ra.transport);
    const atB = sink(rb.transport);
    const secret = new TextEncoder().encode('\x13BitTorrent protocol, in the clear?');
    rb.transport.write(secret.slice());
    ra.transport.write(Uint8Array.of(1, 2, 3));
    await until(() => atA.bytes().length === secret.length && atB.bytes().length === 3);
    expect(atA.bytes().equals(Buffer.from(secret))).toBe(true);
    expect([...atB.bytes()]).toEqual([1, 2, 3]);
    expect(Buffer.concat(wire).includes(Buffer.from('BitTorrent protocol'))).toBe(false);
  });

  it('never encrypts a written chunk in place (the uploader sends one cached block to many peers)', async () => {
    const [a, b] = memoryTransportPair();
    const [ra, rb] = (await Promise.all([
      initiateMse(a, skey, 'require', options),
      acceptMse(b, new Uint8Array(0), () => [skey], 'require', options),
    ])) as [MseResult, MseResult];
    const atB = sink(rb.transport);
    const block = Uint8Array.from({ length: 4096 }, (_, i) => i & 0xff);
    const before = Buffer.from(block);
    ra.transport.write(block.subarray(0, 2048));
    ra.transport.write(block.subarray(0, 2048));
    expect(Buffer.from(block).equals(before)).toBe(true);
    await until(() => atB.bytes().length === 4096);
    expect(atB.bytes().equals(Buffer.concat([before.subarray(0, 2048), before.subarray(0, 2048)]))).toBe(
      true,
    );
  });

  it("prefer on both sides: an obfuscated header, then plaintext (libtorrent's default choice)", async () => {
    const [a, b] = memoryTransportPair();
    const [ra, rb] = (await Promise.all([
      initiateMse(a, skey, 'prefer', options),
      acceptMse(b, new Uint8Array(0), () => [skey], 'prefer', options),
    ])) as [MseResult, MseResult];
    expect([ra.rc4, rb.rc4]).toEqual([false, false]);
    const atA = sink(ra.transport);
    rb.transport.write(Uint8Array.of(9, 8, 7));
    await until(() => atA.bytes().length === 3);
    expect([...atA.bytes()]).toEqual([9, 8, 7]);
  });

  it('a responder that does not serve the torrent refuses', async () => {
    const [a, b] = memoryTransportPair();
    const accepted = acceptMse(b, new Uint8Array(0), () => [new Uint8Array(20).fill(1)], 'prefer', options);
    const initiated = initiateMse(a, skey, 'prefer', options);
    await expect(accepted).rejects.toMatchObject({ code: 'BT_PEER_WRONG_TORRENT' });
    b.close();
    await expect(initiated).rejects.toHaveProperty('code');
  });

  it('hostile input: random bytes never complete a handshake and never throw out of it', async () => {
    const rand = prng(2006);
    for (let i = 0; i < 40; i++) {
      const [a, b] = memoryTransportPair();
      const r = acceptMse(b, new Uint8Array(0), () => [skey], 'require', { ...options, timeoutMs: 200 });
      a.start({ data: () => {}, drain: () => {}, close: () => {} });
      // Longer than a key and the largest pad: the sync search gives up without waiting.
      a.write(randomBytes(rand, 96 + 540 + Math.floor(rand() * 400)));
      await expect(r).rejects.toHaveProperty('code');
      a.close();
    }
  });
});

describe('SwarmNode encryption policy', () => {
  it('with encryption required, a plain handshake is refused without an answer', async () => {
    const node = new SwarmNode({ host: '127.0.0.1', encryption: 'require', trackers: false });
    await node.start();
    try {
      const answer = await new Promise<{ bytes: number; closed: boolean }>((resolve) => {
        const s = connect(node.port, '127.0.0.1');
        let bytes = 0;
        s.on('connect', () =>
          s.write(
            encodeHandshake({
              infoHash: new Uint8Array(20),
              peerId: new Uint8Array(20),
              fast: true,
              extended: true,
            }),
          ),
        );
        s.on('data', (d) => {
          bytes += d.length;
        });
        s.on('close', () => resolve({ bytes, closed: true }));
        s.on('error', () => {});
      });
      expect(answer).toEqual({ bytes: 0, closed: true });
    } finally {
      await node.close();
    }
  });
});

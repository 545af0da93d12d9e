import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DhtNode,
  ed25519Signer,
  generateEd25519,
  mutableMagnet,
  parseMutableMagnet,
  verifyEd25519,
} from '../src/node/index.ts';

/**
 * BEP 44 mutable items and BEP 46 pointers on a DHT of our own nodes on loopback (nothing
 * public): a show's key publishes, updates with a higher sequence number, a subscriber
 * sees the newest; forgeries (another key, a lower sequence, a bad signature) are refused.
 */
describe('BEP 44/46 mutable items on a local DHT', () => {
  const nodes: DhtNode[] = [];
  let publisher: DhtNode;
  let subscriber: DhtNode;
  const show = generateEd25519();
  const sign = ed25519Signer(show.privateKeyDer);
  const ih = (n: number) => new Uint8Array(20).fill(n);

  beforeAll(async () => {
    const start = async (bootstrap: string[]) => {
      const r = await DhtNode.start({ bootstrap, port: 0, host: '127.0.0.1' });
      if (!r.ok) throw new Error(r.error.message);
      nodes.push(r.value);
      return r.value;
    };
    const boot = await start([]);
    const via = [`127.0.0.1:${boot.port}`];
    for (let i = 0; i < 4; i++) await start(via);
    publisher = nodes[1] as DhtNode;
    subscriber = nodes[4] as DhtNode;
  });
  afterAll(async () => {
    for (const n of nodes) await n.close();
  });

  const latest = async () => {
    const got = await subscriber.getMutable(show.publicKey);
    return got
      ? { seq: got.seq, ih: Buffer.from((got.value as { ih: Uint8Array }).ih).toString('hex') }
      : null;
  };

  it('Ed25519 and the BEP 46 magnet', () => {
    const m = mutableMagnet(show.publicKey);
    expect(m).toMatch(/^magnet:\?xs=urn:btpk:[0-9a-f]{64}$/);
    expect(parseMutableMagnet(m)?.publicKey).toEqual(show.publicKey);
    expect(parseMutableMagnet(`${m}&s=6e6577`)?.salt).toEqual(new Uint8Array(Buffer.from('new')));
    for (const bad of [
      'magnet:?xt=urn:btih:' + 'a'.repeat(40),
      'magnet:?xs=urn:btpk:abc',
      `${m}&s=zz`,
      'http://x',
    ])
      expect(parseMutableMagnet(bad)).toBeNull();
    const msg = new TextEncoder().encode('3:seqi1e1:v2:hi');
    const sig = sign(msg);
    expect(verifyEd25519(sig, msg, show.publicKey)).toBe(true);
    expect(verifyEd25519(sig, new TextEncoder().encode('3:seqi2e1:v2:hi'), show.publicKey)).toBe(false);
    expect(verifyEd25519(sig, msg, generateEd25519().publicKey)).toBe(false);
    expect(verifyEd25519(new Uint8Array(3), msg, show.publicKey)).toBe(false);
  });

  it('publish, update: the subscriber sees the newest sequence number', async () => {
    expect(await latest()).toBeNull();
    const first = await publisher.putMutable({
      publicKey: show.publicKey,
      seq: 1,
      value: { ih: ih(1) },
      sign,
    });
    expect(first.ok && first.value.nodes).toBeGreaterThan(0);
    expect(await latest()).toEqual({ seq: 1, ih: Buffer.from(ih(1)).toString('hex') });
    const second = await publisher.putMutable({
      publicKey: show.publicKey,
      seq: 2,
      value: { ih: ih(2) },
      sign,
    });
    expect(second.ok).toBe(true);
    expect(await latest()).toEqual({ seq: 2, ih: Buffer.from(ih(2)).toString('hex') });
  });

  it('refuses forgeries: a lower sequence, another key, a bad signature', async () => {
    // A replay of an older, validly signed item: storing nodes answer 302 and keep seq 2.
    const lower = await publisher.putMutable({
      publicKey: show.publicKey,
      seq: 1,
      value: { ih: ih(9) },
      sign,
    });
    expect(lower.ok && lower.value.nodes).toBeFalsy();
    // Someone else's key signing an item that claims the show's public key.
    const mallory = ed25519Signer(generateEd25519().privateKeyDer);
    await publisher.putMutable({ publicKey: show.publicKey, seq: 100, value: { ih: ih(7) }, sign: mallory });
    // Garbage in place of a signature.
    await publisher.putMutable({
      publicKey: show.publicKey,
      seq: 101,
      value: { ih: ih(8) },
      sign: () => randomBytes(64),
    });
    expect(await latest()).toEqual({ seq: 2, ih: Buffer.from(ih(2)).toString('hex') });
    // The genuine key still moves forward.
    const third = await publisher.putMutable({
      publicKey: show.publicKey,
      seq: 3,
      value: { ih: ih(3) },
      sign,
    });
    expect(third.ok).toBe(true);
    expect(await latest()).toEqual({ seq: 3, ih: Buffer.from(ih(3)).toString('hex') });
  });
});

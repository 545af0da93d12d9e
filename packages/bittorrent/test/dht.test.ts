import { afterAll, describe, expect, it } from 'vitest';
import { DhtNode } from '../src/node/index.ts';
import type { PeerAddress } from '../src/transport.ts';

/**
 * Two of our nodes find each other's torrent through a local bootstrap node only: no
 * tracker and nothing public (every node gets an explicit bootstrap list).
 */
describe('DHT (BEP 5) on loopback', () => {
  const nodes: DhtNode[] = [];
  afterAll(async () => {
    for (const n of nodes) await n.close();
  });

  const start = async (bootstrap: string[]) => {
    const r = await DhtNode.start({ bootstrap, port: 0, host: '127.0.0.1' });
    if (!r.ok) throw new Error(r.error.message);
    nodes.push(r.value);
    return r.value;
  };

  it('a node finds the peer another node announced, via a local bootstrap node', async () => {
    const boot = await start([]);
    const via = [`127.0.0.1:${boot.port}`];
    const seeder = await start(via);
    const leecher = await start(via);
    const infoHash = new Uint8Array(20).fill(0x5c);

    const seederRun = new AbortController();
    const announced = seeder
      .peerSource(infoHash, { announcePort: 7101, intervalMs: 500 })
      .run({ peers() {} }, seederRun.signal);

    const found: PeerAddress[] = [];
    const leecherRun = new AbortController();
    const looking = leecher
      .peerSource(infoHash, { announcePort: 7102, intervalMs: 300 })
      .run({ peers: (ps) => found.push(...ps) }, leecherRun.signal);
    const deadline = Date.now() + 20_000;
    while (!found.some((p) => p.port === 7101) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    seederRun.abort();
    leecherRun.abort();
    await Promise.all([announced, looking]);
    expect(found).toContainEqual({ host: '127.0.0.1', port: 7101 });
    expect(leecher.nodeCount).toBeGreaterThan(0);
  });

  it('refuses a port it cannot bind with a coded error', async () => {
    const first = await start([]);
    const r = await DhtNode.start({ bootstrap: [], port: first.port, host: '127.0.0.1' });
    expect(r.ok || r.error.code).toBe('BT_DHT_BIND');
  });
});

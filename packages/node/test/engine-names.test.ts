import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type EngineNames, openEventStream, parseEngineNames } from '@swarmcast/platform';
import { requireServices, scratchDir, serviceUrl, waitFor } from '@swarmcast/testkit';
import { RedisSwarmStore } from '@swarmcast/tracker';
import { connect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNode, startNode } from '../src/node.ts';

/**
 * Two networks on one Redis and one NATS (issue 19): only the standalone tracker read a Redis
 * prefix and nothing set the NATS stream, so two `swarmcast up` networks shared swarms and
 * measurement events. With their own names each sees only its own.
 */
const services = await requireServices('two networks on one Redis and NATS', 'redis', 'nats');
const tag = `${process.pid}${Date.now().toString(36)}`;

describe.skipIf(services.skip)('engine names keep two networks apart', () => {
  const nodes: { node: RunningNode; names: EngineNames; dir: Awaited<ReturnType<typeof scratchDir>> }[] = [];

  beforeAll(async () => {
    for (const net of ['A', 'B']) {
      const names = parseEngineNames(
        (k) =>
          ({
            SWARMCAST_REDIS_PREFIX: `sc-test-${net}-${tag}:`,
            SWARMCAST_NATS_STREAM: `SC_${net}_${tag}`,
          })[k],
      );
      const dir = await scratchDir(`engine-names-${net}-`);
      const node = await startNode({
        port: 0,
        host: '127.0.0.1',
        dataDir: dir.path,
        demo: false,
        seed: false,
        daiPrepare: null,
        redisUrl: serviceUrl('redis'),
        natsUrl: serviceUrl('nats'),
        engines: names,
      });
      nodes.push({ node, names, dir });
      await writeFile(join(dir.path, 'media', 'ep.mp3'), Buffer.alloc(2048, 1));
    }
  }, 120_000);

  afterAll(async () => {
    for (const { node, names, dir } of nodes) {
      await node.close();
      const store = new RedisSwarmStore({ url: serviceUrl('redis'), prefix: names.redisPrefix });
      await store.clear();
      await store.close();
      await dir.remove();
    }
    // The test's streams go with it.
    const nc = await connect({ servers: serviceUrl('nats') });
    const jsm = await nc.jetstreamManager();
    for (const { names } of nodes) await jsm.streams.delete(names.natsStream).catch(() => {});
    await nc.close();
  });

  const hash = '%BB'.repeat(20);
  const announce = async (node: RunningNode, port: number) => {
    const res = await fetch(
      new URL(
        `/announce?info_hash=${hash}&peer_id=${`-XX0001-${port}`.padEnd(20, 'x')}&port=${port}&uploaded=0&downloaded=0&left=0&compact=1`,
        node.url,
      ),
    );
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer()).toString('latin1');
    return Number(/8:completei(\d+)e/.exec(body)?.[1]);
  };

  it('keeps swarms apart on one Redis', async () => {
    const [a, b] = nodes;
    expect(await announce(a!.node, 6881)).toBe(1);
    expect(await announce(b!.node, 6882)).toBe(1);
    expect(await announce(b!.node, 6883)).toBe(2);
    // Network A still sees its one seeder: B's two are under B's prefix.
    expect(await announce(a!.node, 6881)).toBe(1);
    for (const { names } of nodes) {
      const store = new RedisSwarmStore({ url: serviceUrl('redis'), prefix: names.redisPrefix });
      try {
        const keys = await store.redis.keys(`${names.redisPrefix}*`);
        expect(keys.length).toBeGreaterThan(0);
      } finally {
        await store.close();
      }
    }
  });

  it('keeps measurement events apart on one NATS', async () => {
    const [a, b] = nodes;
    for (const [n, times] of [
      [a!, 2],
      [b!, 1],
    ] as const) {
      for (let i = 0; i < times; i++) {
        const res = await fetch(new URL('/media/ep.mp3', n.node.url));
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      }
    }
    // Read each network's stream as its own new consumer group: A holds two downloads, B one.
    const counts: number[] = [];
    for (const { names } of nodes) {
      const stream = await openEventStream({
        natsUrl: serviceUrl('nats'),
        streamName: names.natsStream,
        subjectPrefix: names.natsSubjects,
      });
      const seen = new Set<string>();
      const consumer = await stream.consume(
        `probe-${tag}`,
        async (events) => {
          for (const e of events) seen.add(e.id);
        },
        { subjects: ['fact.download'] },
      );
      const want = names === nodes[0]!.names ? 2 : 1;
      await waitFor(() => seen.size >= want, 60_000, `${want} download facts on ${names.natsStream}`);
      // Nothing else arrives: whatever is pending is drained, and the count stays.
      await waitFor(async () => (await consumer.pending()) === 0, 30_000, 'the probe to drain');
      counts.push(seen.size);
      await consumer.stop();
      await stream.close();
    }
    expect(counts).toEqual([2, 1]);
    // Each network's daily salt (audience keys) is under its own prefix too.
    for (const { names } of nodes) {
      const store = new RedisSwarmStore({ url: serviceUrl('redis'), prefix: names.redisPrefix });
      try {
        expect(await store.redis.keys(`${names.redisPrefix}salt:*`)).toHaveLength(1);
      } finally {
        await store.close();
      }
    }
  }, 120_000);
});

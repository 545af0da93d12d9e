import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { parseEngineNames } from '@swarmcast/platform';
import { requireServices, scratchDir, scratchPostgres, serviceUrl } from '@swarmcast/testkit';
import { Redis } from 'ioredis';
import { connect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNode, startNode } from '../src/node.ts';

/**
 * Two tracker processes of one network (`swarmcast up --roles tracker` twice) on one
 * PostgreSQL, Redis and NATS (issue 19): a BEP 15 client that connects through one and
 * announces through the other (a UDP load balancer) is answered. Each node process drew its
 * own connection-id key, so the second dropped the announce and the client timed out.
 */
const services = await requireServices(
  'two tracker processes on PostgreSQL, Redis, NATS',
  'postgres',
  'redis',
  'nats',
);
const tag = randomBytes(4).toString('hex');

describe.skipIf(services.skip)('UDP connection ids across node processes', () => {
  const nodes: RunningNode[] = [];
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let pg: Awaited<ReturnType<typeof scratchPostgres>>;
  const engines = parseEngineNames(
    (k) =>
      ({
        SWARMCAST_REDIS_PREFIX: `sc-udpkey-${tag}:`,
        SWARMCAST_NATS_STREAM: `SC_UDPKEY_${tag}`,
      })[k],
  );

  beforeAll(async () => {
    dir = await scratchDir('udp-key-');
    pg = await scratchPostgres('swarmcast_udpkey');
    for (let i = 0; i < 2; i++) {
      nodes.push(
        await startNode({
          port: 0,
          host: '127.0.0.1',
          dataDir: dir.path,
          databaseUrl: pg.url,
          redisUrl: serviceUrl('redis'),
          natsUrl: serviceUrl('nats'),
          engines,
          roles: ['tracker'],
          demo: false,
          seed: false,
          daiPrepare: null,
        }),
      );
    }
  }, 180_000);

  afterAll(async () => {
    for (const n of nodes) await n.close();
    await pg?.drop();
    await dir?.remove();
    const redis = new Redis(serviceUrl('redis'));
    const keys = await redis.keys(`${engines.redisPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    const nc = await connect({ servers: serviceUrl('nats') });
    await (await nc.jetstreamManager()).streams.delete(engines.natsStream).catch(() => {});
    await nc.close();
  }, 60_000);

  it('a connection id from one process is accepted by the other', async () => {
    const [a, b] = nodes.map((n) => n.udpPort) as [number, number];
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    const request = (port: number, packet: Buffer) =>
      new Promise<Buffer | null>((resolve) => {
        const timer = setTimeout(() => {
          socket.off('message', onMessage);
          resolve(null);
        }, 5_000);
        const onMessage = (msg: Buffer, from: { port: number }) => {
          if (from.port !== port) return;
          clearTimeout(timer);
          socket.off('message', onMessage);
          resolve(msg);
        };
        socket.on('message', onMessage);
        socket.send(packet, port, '127.0.0.1');
      });
    try {
      const connectPacket = Buffer.alloc(16);
      connectPacket.writeBigUInt64BE(0x41727101980n, 0);
      connectPacket.writeUInt32BE(0, 8);
      connectPacket.writeUInt32BE(7, 12);
      const connected = await request(a, connectPacket);
      expect(connected?.readUInt32BE(0)).toBe(0);
      // BEP 15 announce: connection id, action 1, transaction, info-hash, peer id, counters...
      const announce = Buffer.alloc(98);
      connected!.copy(announce, 0, 8, 16);
      announce.writeUInt32BE(1, 8);
      announce.writeUInt32BE(8, 12);
      randomBytes(20).copy(announce, 16);
      Buffer.from('-TS0001-udpkey000000').copy(announce, 36);
      announce.writeBigUInt64BE(1000n, 64);
      announce.writeUInt32BE(2, 80);
      announce.writeInt32BE(-1, 92);
      announce.writeUInt16BE(6881, 96);
      const answer = await request(b, announce);
      // Action 1 (announce) with our transaction id: answered, not dropped.
      expect(answer?.readUInt32BE(0)).toBe(1);
      expect(answer?.readUInt32BE(4)).toBe(8);
    } finally {
      await new Promise<void>((r) => socket.close(() => r()));
    }
  });
});

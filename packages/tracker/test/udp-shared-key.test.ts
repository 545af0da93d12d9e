import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { requireServices, serviceUrl } from '@swarmcast/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningTracker, runStandaloneTracker } from '../src/standalone.ts';
import { sharedUdpSecret } from '../src/store/redis-udp-secret.ts';
import { peerId, randomHash, udpAnnounce, udpConnect } from './helpers/announce.ts';

/**
 * Two tracker processes of one network on one Redis (issue 19): a BEP 15 client that gets its
 * connection id from one and announces to the other (a UDP load balancer, DNS round robin)
 * must be answered. Each process used to draw its own key, so the second dropped the announce
 * unanswered (TRK_BAD_CONNECTION_ID) and the client timed out and had to connect again.
 */
const services = await requireServices('UDP connection-id key shared in Redis', 'redis');

describe.skipIf(services.skip)('UDP connection ids across tracker processes', () => {
  const prefix = `sc-udpkey-${randomBytes(4).toString('hex')}:`;
  let redis: Redis;
  const trackers: RunningTracker[] = [];

  beforeAll(async () => {
    redis = new Redis(serviceUrl('redis'), { lazyConnect: true });
    await redis.connect();
    for (let i = 0; i < 2; i++) {
      trackers.push(
        await runStandaloneTracker({
          port: 0,
          host: '127.0.0.1',
          redisUrl: serviceUrl('redis'),
          redisPrefix: prefix,
          rateLimit: null,
        }),
      );
    }
  });

  afterAll(async () => {
    for (const t of trackers) await t.close();
    await redis?.quit();
  });

  it('one key per prefix, whichever process writes it first', async () => {
    const [a, b] = await Promise.all([
      sharedUdpSecret(redis, `${prefix}x:`),
      sharedUdpSecret(redis, `${prefix}x:`),
    ]);
    expect(a).toHaveLength(16);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const other = await sharedUdpSecret(redis, `${prefix}y:`);
    expect(Buffer.from(other).equals(Buffer.from(a))).toBe(false);
  });

  it('an id from one process is accepted by the other', async () => {
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    // One reply per request, bounded; from the port it was sent to.
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
      const [a, b] = trackers as [RunningTracker, RunningTracker];
      const connected = await request(a.port, udpConnect(7));
      expect(connected?.readUInt32BE(0)).toBe(0);
      const connectionId = connected!.subarray(8, 16);
      const answer = await request(
        b.port,
        udpAnnounce({ connectionId, transactionId: 8, infoHash: randomHash(), peerId: peerId() }),
      );
      // Action 1 (announce): answered, not dropped for a bad connection id.
      expect(answer?.readUInt32BE(0)).toBe(1);
      expect(answer?.readUInt32BE(4)).toBe(8);
    } finally {
      await new Promise<void>((r) => socket.close(() => r()));
    }
  });
});

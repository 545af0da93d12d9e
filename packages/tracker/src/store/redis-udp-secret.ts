/**
 * The UDP connection-id key (codec/connection-id.ts) of one network, shared by every tracker
 * process through Redis. Connection ids are stateless: any process holding the key verifies
 * any other's. With a key per process (the default), a client that connected through one
 * process and announces to another (a UDP load balancer, DNS round robin, a restart between
 * the two packets) was refused with TRK_BAD_CONNECTION_ID. The first process to start writes
 * a random key (SET NX); every process, whichever started first, reads that one.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

const keyBytes = 16;

export async function sharedUdpSecret(
  redis: Redis,
  prefix: string,
  random: () => Uint8Array = () => randomBytes(keyBytes),
): Promise<Uint8Array> {
  const key = `${prefix}udp-connection-key`;
  await redis.set(key, Buffer.from(random()), 'NX');
  const stored = await redis.getBuffer(key);
  // Someone else's value under our name (a prefix shared with another program): refuse to start.
  if (!stored || stored.length !== keyBytes) throw new Error(`${key} in Redis is not a ${keyBytes}-byte key`);
  return new Uint8Array(stored);
}

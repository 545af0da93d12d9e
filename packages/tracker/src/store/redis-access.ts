/**
 * Private-mode lists in Redis, shared by every tracker process: `<prefix>passkey:<key>` holds
 * the account, `<prefix>allowed` is the set of registered info-hashes, and
 * `<prefix>account:<id>` a hash of uploaded/downloaded totals (the ratio).
 * The catalog (or an operator) writes passkeys and registrations with the same methods.
 */
import type { Redis } from 'ioredis';
import type { TrackerAccess } from '../core/access.ts';
import type { InfoHash } from '../types.ts';

export class RedisAccess implements TrackerAccess {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'swarmcast:trk:',
  ) {}

  async addPasskey(passkey: string, account: string): Promise<void> {
    await this.redis.set(`${this.prefix}passkey:${passkey}`, account);
  }

  async removePasskey(passkey: string): Promise<void> {
    await this.redis.del(`${this.prefix}passkey:${passkey}`);
  }

  async register(infoHash: InfoHash): Promise<void> {
    await this.redis.sadd(`${this.prefix}allowed`, infoHash);
  }

  async accountFor(passkey: string): Promise<string | null> {
    return this.redis.get(`${this.prefix}passkey:${passkey}`);
  }

  async isRegistered(infoHash: InfoHash): Promise<boolean> {
    return (await this.redis.sismember(`${this.prefix}allowed`, infoHash)) === 1;
  }

  async credit(account: string, uploaded: number, downloaded: number): Promise<void> {
    const key = `${this.prefix}account:${account}`;
    await this.redis.multi().hincrby(key, 'uploaded', uploaded).hincrby(key, 'downloaded', downloaded).exec();
  }

  async totals(account: string): Promise<{ uploaded: number; downloaded: number }> {
    const [u, d] = await this.redis.hmget(`${this.prefix}account:${account}`, 'uploaded', 'downloaded');
    return { uploaded: Number(u ?? 0), downloaded: Number(d ?? 0) };
  }
}

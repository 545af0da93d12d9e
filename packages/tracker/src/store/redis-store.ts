/**
 * The Redis swarm store (REDIS_URL): every tracker process sharing one Redis sees the same
 * swarms, so a peer that announced to process A is returned by process B. One round trip
 * per announce (an atomic Lua script, see redis-announce.lua.ts); scrape is one pipelined
 * HMGET per hash. Keys live under a prefix, so tests and deployments can share a server.
 */
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import { type TrackerError, trackerError } from '../errors.ts';
import type { InfoHash, PeerRecord, SwarmCounts } from '../types.ts';
import { announceScript } from './redis-announce.lua.ts';
import {
  handsSeeders,
  type StoreAnnounce,
  type StoreAnnounceResult,
  type StoreStats,
  type SwarmStore,
  type TorrentStats,
} from './swarm-store.ts';

export interface RedisStoreOptions {
  /** redis://host:port/db */
  url: string;
  /** Every key starts with this (default "swarmcast:trk:"). */
  prefix?: string;
  maxPeersPerSwarm?: number;
}

type AnnounceFn = (...args: Array<string | Buffer | number>) => Promise<Array<Buffer | number>>;

/** Parses a stored peer value back into counters and a record. */
export function decodePeerValue(v: Buffer): {
  seeder: boolean;
  uploaded: number;
  downloaded: number;
  peer: PeerRecord;
} {
  const c1 = v.indexOf(44, 1);
  const c2 = v.indexOf(44, c1 + 1);
  const peerId = v.subarray(c2 + 1, c2 + 21);
  const compact = v.subarray(c2 + 21);
  return {
    seeder: v[0] === 49,
    uploaded: Number(v.subarray(1, c1).toString('latin1')),
    downloaded: Number(v.subarray(c1 + 1, c2).toString('latin1')),
    peer: {
      kind: compact.length > 0 ? 'tcp' : 'ws',
      compact: Buffer.from(compact),
      peerId: Buffer.from(peerId),
    },
  };
}

export function encodePeerValue(a: StoreAnnounce): Buffer {
  return Buffer.concat([
    Buffer.from(`${a.seeder ? 1 : 0}${a.uploaded},${a.downloaded},`, 'latin1'),
    a.peer.peerId,
    a.peer.compact,
  ]);
}

export class RedisSwarmStore implements SwarmStore {
  readonly redis: Redis;
  readonly prefix: string;
  private readonly maxPeersPerSwarm: number;
  private readonly announceFn: AnnounceFn;

  constructor(options: RedisStoreOptions) {
    this.prefix = options.prefix ?? 'swarmcast:trk:';
    this.maxPeersPerSwarm = options.maxPeersPerSwarm ?? 100_000;
    // Required here, not imported: a tracker on the in-memory store should not load the client.
    const { Redis } = createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
    // lazyConnect: nothing happens until the first command (no work in a constructor).
    this.redis = new Redis(options.url, {
      lazyConnect: true,
      enableAutoPipelining: true,
      maxRetriesPerRequest: 2,
    });
    this.redis.on('error', () => undefined);
    this.redis.defineCommand('trackerAnnounce', { numberOfKeys: 5, lua: announceScript });
    this.announceFn = (
      this.redis as unknown as { trackerAnnounceBuffer: AnnounceFn }
    ).trackerAnnounceBuffer.bind(this.redis);
  }

  private swarmKeys(h: InfoHash): string[] {
    const base = `${this.prefix}{${h}}`;
    return [`${base}:t`, `${base}:w`, `${base}:z`, `${base}:c`];
  }

  private get torrentsKey(): string {
    return `${this.prefix}torrents`;
  }

  async announce(a: StoreAnnounce): Promise<StoreAnnounceResult | TrackerError> {
    const reply = await this.announceFn(
      ...this.swarmKeys(a.infoHash),
      this.torrentsKey,
      a.peer.kind === 'tcp' ? 't' : 'w',
      a.peerKey,
      encodePeerValue(a),
      a.seeder ? '1' : '0',
      a.event,
      a.now,
      a.now - a.ttlMs,
      a.numwant,
      a.infoHash,
      this.maxPeersPerSwarm,
      handsSeeders(a) ? '1' : '0',
    );
    if (reply[0] === -1) return trackerError('TRK_FULL');
    const prev = reply[3] as Buffer;
    const previous = prev.length > 0 ? decodePeerValue(prev) : null;
    const peers: PeerRecord[] = [];
    for (let i = 4; i < reply.length; i++) peers.push(decodePeerValue(reply[i] as Buffer).peer);
    return {
      complete: Math.max(0, reply[0] as number),
      incomplete: Math.max(0, reply[1] as number),
      downloaded: reply[2] as number,
      peers,
      previous: previous ? { uploaded: previous.uploaded, downloaded: previous.downloaded } : null,
    };
  }

  async scrape(infoHashes: InfoHash[]): Promise<Map<InfoHash, SwarmCounts>> {
    const replies = await Promise.all(
      infoHashes.map((h) => this.redis.hmget(this.swarmKeys(h)[3]!, 's', 'l', 'd')),
    );
    const out = new Map<InfoHash, SwarmCounts>();
    infoHashes.forEach((h, i) => {
      const [s, l, d] = replies[i]!;
      out.set(h, {
        complete: Math.max(0, Number(s ?? 0)),
        incomplete: Math.max(0, Number(l ?? 0)),
        downloaded: Number(d ?? 0),
      });
    });
    return out;
  }

  async torrents(limit: number): Promise<TorrentStats[]> {
    const hashes = (await this.redis.zrevrange(this.torrentsKey, 0, Math.max(0, limit - 1))) as InfoHash[];
    const counts = await this.scrape(hashes);
    return hashes
      .map((infoHash) => ({ infoHash, ...counts.get(infoHash)! }))
      .filter((t) => t.complete + t.incomplete > 0)
      .sort((x, y) => y.complete + y.incomplete - (x.complete + x.incomplete));
  }

  async stats(): Promise<StoreStats> {
    // Bounded: counts the 10k most recently active swarms.
    const list = await this.torrents(10_000);
    return { torrents: list.length, peers: list.reduce((n, t) => n + t.complete + t.incomplete, 0) };
  }

  async sweep(now: number, ttlMs: number): Promise<number> {
    // Peers expire inside each announce; here only the torrent index is trimmed.
    return this.redis.zremrangebyscore(this.torrentsKey, '-inf', `(${now - ttlMs}`);
  }

  /** Deletes every key under the prefix (tests; a deployment's reset). */
  async clear(): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}*`, 'COUNT', 1000);
      if (keys.length) await this.redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

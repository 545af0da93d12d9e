/**
 * Runs a tracker alone: HTTP and WebSocket on TCP port N, UDP on port N. This is what
 * `swarmcast tracker` calls; `swarmcast up` mounts `trackerPlugin` and `startUdpTracker`
 * on the node's server instead.
 */
import { readFile } from 'node:fs/promises';
import type { Clock } from '@swarmcast/platform';
import { MemoryAccess, type TrackerAccess } from './core/access.ts';
import type { RateRule } from './core/rate-limit.ts';
import type { AnnounceObserver, Intervals } from './core/tracker-core.ts';
import { type HttpTracker, startHttpTracker } from './server/node-http.ts';
import { startUdpTracker, type UdpTracker, type UdpTrackerOptions } from './server/udp-server.ts';
import type { WsRelayOptions } from './server/ws-relay.ts';
import { MemorySwarmStore } from './store/memory-store.ts';
import { RedisAccess } from './store/redis-access.ts';
import { RedisSwarmStore } from './store/redis-store.ts';
import { sharedUdpSecret } from './store/redis-udp-secret.ts';
import type { SwarmStore } from './store/swarm-store.ts';
import { Tracker } from './tracker.ts';
import type { InfoHash } from './types.ts';

export interface StandaloneOptions {
  port: number;
  host?: string;
  /** Shared swarm state; in memory when absent. */
  redisUrl?: string | null;
  redisPrefix?: string;
  /** Private mode: passkeys required, only registered torrents tracked. */
  private?: boolean;
  /**
   * Without Redis, private mode reads its lists from this JSON file:
   * `{"passkeys": {"<passkey>": "<account>"}, "torrents": ["<40 hex>"]}`.
   */
  accessFile?: string | null;
  rateLimit?: RateRule | null;
  intervals?: Partial<Intervals>;
  observer?: AnnounceObserver | null;
  clock?: Clock;
  /** A store made by the caller (a cluster worker's partitioned store); wins over redisUrl. */
  store?: SwarmStore;
  /** UDP connection-id key; processes sharing the UDP port must share it. */
  udpSecret?: Uint8Array;
  /** WebSocket relay bounds (socket caps, ping period). */
  ws?: WsRelayOptions;
  /** See UdpTrackerOptions.forward (a cluster worker's hand-over of other workers' announces). */
  udpForward?: UdpTrackerOptions['forward'];
}

export interface RunningTracker {
  tracker: Tracker;
  http: HttpTracker;
  udp: UdpTracker;
  /** TCP and UDP port (the same number). */
  port: number;
  close(): Promise<void>;
}

async function accessFromFile(path: string): Promise<MemoryAccess> {
  const access = new MemoryAccess();
  const data = JSON.parse(await readFile(path, 'utf8')) as {
    passkeys?: Record<string, string>;
    torrents?: string[];
  };
  for (const [key, account] of Object.entries(data.passkeys ?? {})) access.addPasskey(key, account);
  for (const h of data.torrents ?? []) access.register(h.toLowerCase() as InfoHash);
  return access;
}

export async function runStandaloneTracker(options: StandaloneOptions): Promise<RunningTracker> {
  let store: SwarmStore;
  let access: TrackerAccess | null = null;
  let udpSecret = options.udpSecret;
  if (options.store) {
    store = options.store;
    if (options.private)
      access = options.accessFile ? await accessFromFile(options.accessFile) : new MemoryAccess();
  } else if (options.redisUrl) {
    const redisStore = new RedisSwarmStore({ url: options.redisUrl, prefix: options.redisPrefix });
    await redisStore.redis.connect();
    store = redisStore;
    if (options.private) access = new RedisAccess(redisStore.redis, redisStore.prefix);
    // Every tracker process on this Redis prefix verifies every other's UDP connection ids.
    udpSecret ??= await sharedUdpSecret(redisStore.redis, redisStore.prefix);
  } else {
    store = new MemorySwarmStore();
    if (options.private)
      access = options.accessFile ? await accessFromFile(options.accessFile) : new MemoryAccess();
  }
  const tracker = new Tracker({
    store,
    access,
    rateLimit: options.rateLimit,
    intervals: options.intervals,
    observer: options.observer,
    clock: options.clock,
    udpSecret,
    ...(options.ws ? { ws: options.ws } : {}),
  });
  const host = options.host ?? '0.0.0.0';
  const http = await startHttpTracker(tracker, { port: options.port, host });
  let udp: UdpTracker;
  try {
    udp = await startUdpTracker(tracker, { port: http.port, host, forward: options.udpForward });
  } catch (err) {
    await http.close();
    await tracker.close();
    throw err;
  }
  tracker.start();
  return {
    tracker,
    http,
    udp,
    port: http.port,
    close: async () => {
      await Promise.all([http.close(), udp.close()]);
      await tracker.close();
    },
  };
}

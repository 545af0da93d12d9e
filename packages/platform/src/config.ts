import { resolve } from 'node:path';
import { type EngineNames, parseEngineNames } from './config/engine-names.ts';
import { parseTrustedProxies } from './config/trusted-proxies.ts';
import { PlatformError } from './errors.ts';
import { type IceSettings, parseIceSettings } from './ice/ice-servers.ts';

/**
 * A node's settings, from the environment with command-line overrides on top. Engines
 * switch on URLs: DATABASE_URL -> PostgreSQL (else PGlite in <dataDir>/db), REDIS_URL ->
 * Redis swarm store (else memory), NATS_URL -> JetStream (else the embedded stream).
 */
export interface Config {
  /** Interface to listen on (HOST, default 127.0.0.1; use 0.0.0.0 to serve the network). */
  host: string;
  /** TCP port of the node's HTTP server and UDP port of its tracker (PORT, default 8080). */
  port: number;
  /** Where embedded engines and media live (SWARMCAST_DATA, default ./data), absolute. */
  dataDir: string;
  /** Published files served by the origin (MEDIA_DIR, default <dataDir>/media), absolute. */
  mediaDir: string;
  /** How the outside world reaches this node (PUBLIC_URL, default http://<host>:<port>), no trailing slash. */
  publicUrl: string;
  databaseUrl: string | null;
  redisUrl: string | null;
  natsUrl: string | null;
  /** Operator's data-centre CIDR list (DATACENTER_RANGES), or null for none. */
  datacenterRanges: string | null;
  /** Share of ad revenue paid to creators in percent (CREATOR_SHARE_PERCENT, default 70). */
  creatorSharePercent: number;
  /**
   * ICE servers for every WebRTC peer we create (SWARMCAST_ICE_SERVERS, default `self`: the
   * node's own STUN server on its UDP port), TURN credentials from SWARMCAST_TURN_SECRET
   * lasting SWARMCAST_TURN_TTL seconds (default 3600).
   */
  ice: IceSettings;
  /** Reverse proxies whose forwarded-for headers are believed (SWARMCAST_TRUST_PROXY, default none). */
  trustProxy: string[];
  /** Redis key prefix, NATS stream, subjects and consumer names (config/engine-names.ts). */
  engines: EngineNames;
}

export type Env = Record<string, string | undefined>;

const bad = (name: string, value: string, why: string) =>
  new PlatformError('PLT_CONFIG_INVALID', `${name}=${JSON.stringify(value)}: ${why}`);

function integer(name: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value.trim())) throw bad(name, value, 'not a whole number');
  const n = Number(value.trim());
  if (n < min || n > max) throw bad(name, value, `must be between ${min} and ${max}`);
  return n;
}

function url(name: string, value: string | undefined, protocols: string[]): string | null {
  if (value === undefined || value.trim() === '') return null;
  let u: URL;
  try {
    u = new URL(value.trim());
  } catch {
    throw bad(name, value, 'not a URL');
  }
  if (!protocols.includes(u.protocol)) throw bad(name, value, `protocol must be ${protocols.join(' or ')}`);
  return value.trim();
}

function host(name: string, value: string): string {
  const v = value.trim();
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(v) || v.length > 253) throw bad(name, value, 'not a host name or address');
  return v;
}

/**
 * Reads the settings. `overrides` uses the same variable names as the environment (the
 * CLI maps --port to PORT and so on) and wins over `env`. Every bad value is a
 * PLT_CONFIG_INVALID error naming the variable, thrown before anything starts.
 */
export function loadConfig(env: Env, overrides: Env = {}, cwd = process.cwd()): Config {
  const get = (k: string): string | undefined => {
    const v = overrides[k] ?? env[k];
    return v === undefined || v === '' ? undefined : v;
  };
  const h = host('HOST', get('HOST') ?? '127.0.0.1');
  const port = integer('PORT', get('PORT') ?? '8080', 0, 65535);
  const dataDir = resolve(cwd, get('SWARMCAST_DATA') ?? get('DATA_DIR') ?? './data');
  const mediaDir = resolve(dataDir, get('MEDIA_DIR') ?? 'media');
  const shownHost =
    h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
  const publicUrl = (
    url('PUBLIC_URL', get('PUBLIC_URL'), ['http:', 'https:']) ?? `http://${shownHost}:${port}`
  ).replace(/\/+$/, '');
  const share = integer('CREATOR_SHARE_PERCENT', get('CREATOR_SHARE_PERCENT') ?? '70', 0, 100);
  const ranges = get('DATACENTER_RANGES');
  return {
    host: h,
    port,
    dataDir,
    mediaDir,
    publicUrl,
    databaseUrl: url('DATABASE_URL', get('DATABASE_URL'), ['postgres:', 'postgresql:']),
    redisUrl: url('REDIS_URL', get('REDIS_URL'), ['redis:', 'rediss:']),
    natsUrl: url('NATS_URL', get('NATS_URL'), ['nats:', 'tls:']),
    datacenterRanges: ranges ? resolve(cwd, ranges) : null,
    creatorSharePercent: share,
    ice: parseIceSettings(
      get('SWARMCAST_ICE_SERVERS'),
      get('SWARMCAST_TURN_SECRET'),
      get('SWARMCAST_TURN_TTL'),
    ),
    trustProxy: parseTrustedProxies(get('SWARMCAST_TRUST_PROXY')),
    engines: parseEngineNames(get),
  };
}

/**
 * ICE servers as configuration (SWARMCAST_ICE_SERVERS), and the TURN REST API credentials
 * (coturn `use-auth-secret`) minted from SWARMCAST_TURN_SECRET for each WebRTC peer we create.
 * One owner: the node, its seeder, the pages and the CLI all take their ICE servers from here.
 */
import { createHmac } from 'node:crypto';
import { PlatformError } from '../errors.ts';

/** `self`: the node's own STUN server (its UDP port, see stun.ts). */
export const SELF_STUN = 'self';

export interface IceSettings {
  /** STUN/TURN URLs in order; `self` stands for the node's own STUN server. */
  urls: string[];
  /** coturn's `static-auth-secret`; required when a TURN URL is listed. */
  turnSecret: string | null;
  /** Lifetime of minted TURN credentials, seconds. */
  turnTtlSeconds: number;
}

/** The shape of RTCIceServer (W3C), what pages and node-datachannel take. */
export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

const bad = (name: string, value: string, why: string) =>
  new PlatformError('PLT_CONFIG_INVALID', `${name}=${JSON.stringify(value)}: ${why}`);

// RFC 7064 / 7065: scheme:host[:port][?transport=udp|tcp] (no user info, no path).
const ICE_URL =
  /^(stuns?|turns?):(\[[0-9a-fA-F:.]{2,45}\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(?::(\d{1,5}))?(\?transport=(?:udp|tcp))?$/;

/**
 * Parses SWARMCAST_ICE_SERVERS: URLs separated by commas or spaces. Unset: `self` (the
 * node's STUN server, so `npm start` works alone). `none`: no ICE servers (host candidates
 * only, a LAN). A TURN URL needs the secret to mint credentials.
 */
export function parseIceSettings(
  servers: string | undefined,
  secret: string | undefined,
  ttl: string | undefined,
): IceSettings {
  const name = 'SWARMCAST_ICE_SERVERS';
  const text = (servers ?? SELF_STUN).trim();
  const urls = text === 'none' ? [] : text.split(/[\s,]+/).filter((u) => u !== '');
  if (urls.length > 16) throw bad(name, text, 'more than 16 ICE servers');
  for (const u of urls) {
    if (u === SELF_STUN) continue;
    const m = ICE_URL.exec(u);
    if (!m) throw bad(name, u, 'not a stun:, stuns:, turn: or turns: URL (host[:port][?transport=udp|tcp])');
    if (m[3] !== undefined && (Number(m[3]) < 1 || Number(m[3]) > 65535)) throw bad(name, u, 'bad port');
    if (m[1]?.startsWith('stun') && m[4]) throw bad(name, u, 'a STUN URL takes no transport');
  }
  const turnSecret = secret?.trim() ? secret.trim() : null;
  if (urls.some((u) => u.startsWith('turn')) && !turnSecret) {
    throw bad(name, text, 'a TURN server is listed but SWARMCAST_TURN_SECRET is not set');
  }
  if (turnSecret !== null && turnSecret.length < 16) {
    throw new PlatformError('PLT_CONFIG_INVALID', 'SWARMCAST_TURN_SECRET: at least 16 characters');
  }
  let turnTtlSeconds = 3600;
  if (ttl !== undefined && ttl.trim() !== '') {
    if (!/^\d+$/.test(ttl.trim())) throw bad('SWARMCAST_TURN_TTL', ttl, 'not a whole number of seconds');
    turnTtlSeconds = Number(ttl.trim());
    if (turnTtlSeconds < 60 || turnTtlSeconds > 86_400) {
      throw bad('SWARMCAST_TURN_TTL', ttl, 'must be between 60 and 86400 seconds');
    }
  }
  return { urls, turnSecret, turnTtlSeconds };
}

/**
 * TURN REST API credentials (draft-uberti-behave-turn-rest, coturn `use-auth-secret`):
 * username "<expiry unix seconds>:<id>", password base64(HMAC-SHA1(secret, username)).
 * coturn refuses the username once the expiry has passed.
 */
export function turnCredentials(
  secret: string,
  id: string,
  expiresAtSeconds: number,
): { username: string; credential: string } {
  // The id is ours (a random page id), but keep the separator out of it whatever it is.
  const username = `${Math.floor(expiresAtSeconds)}:${id.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 64) || 'peer'}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential };
}

/**
 * The ICE servers for one WebRTC peer (`id`: a page or the node), with TURN credentials
 * expiring `turnTtlSeconds` from `nowMs`. `self` becomes `stun:<host>:<port>` when the node's
 * own STUN address is known, and is left out otherwise.
 */
export function iceServersFor(
  s: IceSettings,
  id: string,
  nowMs: number,
  self: { host: string; port: number } | null,
): IceServer[] {
  const out: IceServer[] = [];
  const stun: string[] = [];
  const turn: string[] = [];
  for (const u of s.urls) {
    if (u === SELF_STUN) {
      if (self)
        stun.push(
          `stun:${self.host.includes(':') && !self.host.startsWith('[') ? `[${self.host}]` : self.host}:${self.port}`,
        );
    } else if (u.startsWith('turn')) turn.push(u);
    else stun.push(u);
  }
  if (stun.length > 0) out.push({ urls: stun });
  if (turn.length > 0 && s.turnSecret) {
    const expires = Math.floor(nowMs / 1000) + s.turnTtlSeconds;
    out.push({ urls: turn, ...turnCredentials(s.turnSecret, id, expires) });
  }
  return out;
}

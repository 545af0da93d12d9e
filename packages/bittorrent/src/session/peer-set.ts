import type { PeerAddress } from '../transport.ts';

/** Known addresses we are not connected to, with back-off for the ones that failed. */
interface Candidate {
  readonly address: PeerAddress;
  /** Not before this time. */
  retryAt: number;
  failures: number;
}

export interface PeerSetLimits {
  /** Connections at most (default 50). */
  readonly maxPeers: number;
  /** Dials in flight at most (default 8). */
  readonly maxDialing: number;
}

export const defaultPeerSetLimits: PeerSetLimits = { maxPeers: 50, maxDialing: 8 };

/**
 * Which addresses to dial, which are connected, which are banned. Pure bookkeeping (no
 * sockets, no timers): the session asks `nextDials(now)` on its tick and reports outcomes.
 * A ban is by IP address, except on loopback where every test peer shares one address and
 * the port is what tells them apart.
 */
export class PeerSet {
  private readonly candidates = new Map<string, Candidate>();
  private readonly connected = new Set<string>();
  private readonly dialing = new Set<string>();
  private readonly banned = new Set<string>();

  constructor(private readonly limits: PeerSetLimits = defaultPeerSetLimits) {}

  /** Learns addresses (tracker, DHT, PEX, the user). Banned and connected ones are ignored. */
  add(addresses: readonly PeerAddress[], now: number): number {
    let added = 0;
    for (const a of addresses) {
      if (!validAddress(a)) continue;
      const key = addressKey(a);
      if (this.candidates.has(key) || this.connected.has(key) || this.dialing.has(key) || this.isBanned(a))
        continue;
      if (this.candidates.size >= 2000) break; // bounded: a flood of PEX addresses cannot grow memory
      this.candidates.set(key, { address: a, retryAt: now, failures: 0 });
      added++;
    }
    return added;
  }

  /** Addresses to dial now, marked as dialing. */
  nextDials(now: number, connectedCount: number): PeerAddress[] {
    const out: PeerAddress[] = [];
    for (const [key, c] of this.candidates) {
      if (
        connectedCount + this.dialing.size >= this.limits.maxPeers ||
        this.dialing.size >= this.limits.maxDialing
      ) {
        break;
      }
      if (c.retryAt > now) continue;
      this.candidates.delete(key);
      this.dialing.add(key);
      out.push(c.address);
    }
    return out;
  }

  /**
   * A dial failed (refused, timed out): retry later with bounded exponential back-off (1 s,
   * 2 s, 4 s ... at most {@link MAX_BACKOFF_MS}), and forget the address after
   * {@link MAX_FAILURES} failures in a row. A peer that is not up yet (a client still checking
   * its data, a seeder started before its leecher) is reached within seconds.
   */
  dialFailed(address: PeerAddress, now: number): void {
    const key = addressKey(address);
    this.dialing.delete(key);
    this.retryLater(key, address, now);
  }

  /** A connection (ours or incoming) is up. Returns false when it must be refused. */
  connectedTo(address: PeerAddress | undefined): boolean {
    if (!address) return true;
    const key = addressKey(address);
    this.dialing.delete(key);
    this.candidates.delete(key);
    if (this.isBanned(address) || this.connected.has(key)) return false;
    this.connected.add(key);
    return true;
  }

  /**
   * A connection closed; `redial` puts the address back for a later attempt. One that closed
   * before its handshake (`useful` false) counts as a failed dial; after a useful one the peer
   * is tried again in {@link REDIAL_MS}.
   */
  disconnected(address: PeerAddress | undefined, now: number, redial: boolean, useful = true): void {
    if (!address) return;
    const key = addressKey(address);
    this.connected.delete(key);
    if (!redial || this.isBanned(address)) return;
    if (!useful) {
      this.retryLater(key, address, now);
      return;
    }
    this.failures.delete(key);
    this.candidates.set(key, { address, retryAt: now + REDIAL_MS, failures: 0 });
  }

  private retryLater(key: string, address: PeerAddress, now: number): void {
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.delete(key);
    if (failures > MAX_FAILURES || this.isBanned(address)) return;
    // Bounded: the oldest entry goes first (Map order is insertion order).
    if (this.failures.size >= 4000) this.failures.delete(this.failures.keys().next().value!);
    this.failures.set(key, failures);
    this.candidates.set(key, { address, retryAt: now + backoff(failures), failures });
  }

  /** Consecutive failures per address (survives the candidate being dialled again). */
  private readonly failures = new Map<string, number>();

  ban(address: PeerAddress | undefined): void {
    if (!address) return;
    this.banned.add(banKey(address));
    this.candidates.delete(addressKey(address));
  }

  isBanned(address: PeerAddress): boolean {
    return this.banned.has(banKey(address));
  }

  get bannedCount(): number {
    return this.banned.size;
  }

  get candidateCount(): number {
    return this.candidates.size;
  }
}

/** Failed dials in a row after which an address is dropped (about 7 minutes of retries). */
export const MAX_FAILURES = 12;
export const MAX_BACKOFF_MS = 60_000;
/** Wait before dialling again a peer whose useful connection closed. */
export const REDIAL_MS = 30_000;

/** Delay before retry number `failures` (1-based). */
export function backoff(failures: number): number {
  return Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (failures - 1));
}

export function addressKey(a: PeerAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

function banKey(a: PeerAddress): string {
  return isLoopback(a.host) ? addressKey(a) : a.host;
}

export function isLoopback(host: string): boolean {
  return host.startsWith('127.') || host === '::1' || host === 'localhost';
}

function validAddress(a: PeerAddress): boolean {
  return (
    typeof a.host === 'string' &&
    a.host.length > 0 &&
    Number.isInteger(a.port) &&
    a.port > 0 &&
    a.port < 65536
  );
}

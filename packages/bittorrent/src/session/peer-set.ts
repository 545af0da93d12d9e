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

  /** A dial failed: retry later, with back-off, a few times. */
  dialFailed(address: PeerAddress, now: number, failures = 1): void {
    const key = addressKey(address);
    this.dialing.delete(key);
    if (failures > 4 || this.isBanned(address)) return;
    this.candidates.set(key, { address, retryAt: now + 3_000 * 2 ** (failures - 1), failures });
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

  /** A connection closed; `redial` puts the address back for a later attempt. */
  disconnected(address: PeerAddress | undefined, now: number, redial: boolean): void {
    if (!address) return;
    const key = addressKey(address);
    this.connected.delete(key);
    if (redial && !this.isBanned(address))
      this.candidates.set(key, { address, retryAt: now + 30_000, failures: 1 });
  }

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

export function addressKey(a: PeerAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

function banKey(a: PeerAddress): string {
  return isLoopback(a.host) ? addressKey(a) : a.host;
}

function isLoopback(host: string): boolean {
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

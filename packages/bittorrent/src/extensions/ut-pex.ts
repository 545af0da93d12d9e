import { type BEncodable, decodeBencode, encodeBencode, isBytes, isDict } from '../bencode.ts';
import { fail, ok, type Result } from '../errors.ts';
import { compressIpv6 } from '../tracker-client/compact-peers.ts';
import type { PeerAddress } from '../transport.ts';

/** BEP 11 flags of an added peer. */
export const PexFlag = {
  encryption: 0x01,
  seed: 0x02,
  utp: 0x04,
  holepunch: 0x08,
  reachable: 0x10,
} as const;

/** A peer announced in a PEX message. */
export interface PexPeer extends PeerAddress {
  readonly family: 'ipv4' | 'ipv6';
  /** BEP 11 flag bits ({@link PexFlag}); 0 when the sender gave none. */
  readonly flags: number;
}

/** One PEX message: peers the sender connected to and dropped since its last message. */
export interface PexMessage {
  readonly added: readonly PexPeer[];
  readonly dropped: readonly PexPeer[];
}

/** BEP 11: at most 50 added and 50 dropped per message; libtorrent drops peers above 100. */
export const PEX_MAX_PER_MESSAGE = 50;
const PEX_HARD_LIMIT = 100;
/** BEP 11: at most one message a minute. */
export const PEX_INTERVAL_MS = 60_000;

function parseCompact(bytes: Uint8Array, family: 'ipv4' | 'ipv6', flags?: Uint8Array): PexPeer[] | undefined {
  const size = family === 'ipv4' ? 6 : 18;
  if (bytes.length % size !== 0) return undefined;
  const out: PexPeer[] = [];
  for (let at = 0, i = 0; at < bytes.length; at += size, i++) {
    const port = ((bytes[at + size - 2] as number) << 8) | (bytes[at + size - 1] as number);
    if (port === 0) continue;
    const host =
      family === 'ipv4'
        ? Array.from(bytes.subarray(at, at + 4)).join('.')
        : ipv6Text(bytes.subarray(at, at + 16));
    out.push({ host, port, family, flags: flags?.[i] ?? 0 });
  }
  return out;
}

function ipv6Text(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((b[i] as number) << 8) | (b[i + 1] as number)).toString(16));
  return compressIpv6(groups);
}

function ipv6Bytes(text: string): Uint8Array | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...new Array(fill).fill('0'), ...tail];
  if (groups.length !== 8) return undefined;
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const v = Number.parseInt(groups[i] as string, 16);
    if (!/^[0-9a-f]{1,4}$/i.test(groups[i] as string)) return undefined;
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  }
  return out;
}

function ipv4Bytes(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) < 256)) return undefined;
  return Uint8Array.from(parts.map(Number));
}

/** The compact form of an address (6 or 18 bytes), or undefined for a name or bad text. */
export function compactAddress(peer: PeerAddress): Uint8Array | undefined {
  const ip = peer.host.includes(':') ? ipv6Bytes(peer.host) : ipv4Bytes(peer.host);
  if (!ip || peer.port <= 0 || peer.port > 65535) return undefined;
  const out = new Uint8Array(ip.length + 2);
  out.set(ip, 0);
  out[ip.length] = peer.port >> 8;
  out[ip.length + 1] = peer.port & 0xff;
  return out;
}

/** Decodes a ut_pex payload. Hostile sizes (over 100 peers a list, bad lengths) are errors. */
export function decodePex(payload: Uint8Array): Result<PexMessage> {
  const d = decodeBencode(payload, { maxBytes: 16 * 1024, maxDepth: 4, maxItems: 64 });
  if (!d.ok || !isDict(d.value.value))
    return fail('BT_PEX_BAD_MESSAGE', 'ut_pex payload is not a dictionary');
  const root = d.value.value;
  const list = (key: string, family: 'ipv4' | 'ipv6', flagsKey?: string): PexPeer[] | undefined | 'bad' => {
    const v = root[key];
    if (v === undefined) return undefined;
    if (!isBytes(v)) return 'bad';
    const f = flagsKey ? root[flagsKey] : undefined;
    const peers = parseCompact(v, family, isBytes(f) ? f : undefined);
    if (!peers || peers.length > PEX_HARD_LIMIT) return 'bad';
    return peers;
  };
  const parts = [
    list('added', 'ipv4', 'added.f'),
    list('added6', 'ipv6', 'added6.f'),
    list('dropped', 'ipv4'),
    list('dropped6', 'ipv6'),
  ];
  if (parts.includes('bad')) return fail('BT_PEX_BAD_MESSAGE', 'ut_pex list of the wrong size or too long');
  const [a4, a6, d4, d6] = parts as Array<PexPeer[] | undefined>;
  return ok({ added: [...(a4 ?? []), ...(a6 ?? [])], dropped: [...(d4 ?? []), ...(d6 ?? [])] });
}

/** Encodes a ut_pex payload; lists are cut at 50 entries per family (BEP 11). */
export function encodePex(msg: {
  added: readonly (PeerAddress & { flags?: number })[];
  dropped: readonly PeerAddress[];
}): Uint8Array {
  const pack = (peers: readonly (PeerAddress & { flags?: number })[], v6: boolean) => {
    const addrs: Uint8Array[] = [];
    const flags: number[] = [];
    for (const p of peers) {
      if (addrs.length >= PEX_MAX_PER_MESSAGE) break;
      const c = compactAddress(p);
      if (!c || (c.length === 18) !== v6) continue;
      addrs.push(c);
      flags.push(p.flags ?? 0);
    }
    const bytes = new Uint8Array(addrs.length * (v6 ? 18 : 6));
    addrs.forEach((a, i) => {
      bytes.set(a, i * a.length);
    });
    return { bytes, flags: Uint8Array.from(flags) };
  };
  const a4 = pack(msg.added, false);
  const a6 = pack(msg.added, true);
  const dict: Record<string, BEncodable> = {
    added: a4.bytes,
    'added.f': a4.flags,
    dropped: pack(msg.dropped, false).bytes,
  };
  if (a6.bytes.length > 0) {
    dict.added6 = a6.bytes;
    dict['added6.f'] = a6.flags;
  }
  const d6 = pack(msg.dropped, true).bytes;
  if (d6.length > 0) dict.dropped6 = d6;
  return encodeBencode(dict);
}

const keyOf = (p: PeerAddress) => `${p.host}|${p.port}`;

/**
 * What to tell one peer by PEX and when (BEP 11): the difference between the peers we are
 * connected to now and what we last told it, at most once a minute, 50 per list.
 */
export class PexOutbox {
  private told = new Map<string, PeerAddress & { flags?: number }>();
  private lastSentAt = Number.NEGATIVE_INFINITY;

  /** The message to send now, or undefined when it is too soon or nothing changed. */
  next(now: number, connected: readonly (PeerAddress & { flags?: number })[]): Uint8Array | undefined {
    if (now - this.lastSentAt < PEX_INTERVAL_MS) return undefined;
    const current = new Map(connected.map((p) => [keyOf(p), p]));
    const added = [...current].filter(([k]) => !this.told.has(k)).slice(0, PEX_MAX_PER_MESSAGE);
    const dropped = [...this.told].filter(([k]) => !current.has(k)).slice(0, PEX_MAX_PER_MESSAGE);
    if (added.length === 0 && dropped.length === 0) return undefined;
    for (const [k, p] of added) this.told.set(k, p);
    for (const [k] of dropped) this.told.delete(k);
    this.lastSentAt = now;
    return encodePex({ added: added.map(([, p]) => p), dropped: dropped.map(([, p]) => p) });
  }
}

/**
 * Receive-side rate limit (libtorrent's rule): messages arriving less than a minute apart
 * (with slack for timer jitter) are ignored, and a peer that keeps doing so is dropped.
 */
export class PexInbox {
  private lastAt = Number.NEGATIVE_INFINITY;
  private early = 0;

  /** `accept` to process the message, `ignore` to drop it, `flood` to drop the peer. */
  admit(now: number): 'accept' | 'ignore' | 'flood' {
    if (now - this.lastAt < PEX_INTERVAL_MS - 10_000) {
      return ++this.early > 10 ? 'flood' : 'ignore';
    }
    this.lastAt = now;
    return 'accept';
  }
}

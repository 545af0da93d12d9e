import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIPv6 } from 'node:net';
import { toHex } from '../bytes.ts';
import { fail, ok, type Result } from '../errors.ts';
import type { AnnounceParams, AnnounceReply, Announcer, ScrapeEntry } from '../tracker-client/types.ts';
import {
  decodeUdpResponse,
  encodeAnnounce,
  encodeConnect,
  encodeScrape,
  type UdpResponse,
  udpTimeoutMs,
} from '../tracker-client/udp-codec.ts';

export interface UdpTrackerOptions {
  /** First retransmission timeout; BEP 15 says 15 s, doubling per attempt. */
  readonly baseTimeoutMs?: number;
  /** Attempts before giving up (BEP 15 allows 9: up to 15 * 2^8 s; default 4 keeps it under 4 min). */
  readonly maxAttempts?: number;
  readonly random?: () => number;
}

/**
 * BEP 15 UDP tracker client: connect, announce, scrape, with the 15 * 2^n retransmission
 * schedule (bounded by `maxAttempts`). One socket per request, so replies can never be
 * confused across requests; and so each request connects first: a tracker may bind the
 * connection id to the address and port it issued it to (ours does, BEP 15 suggests the
 * address), and an id kept from another socket's port was dropped unanswered, so every
 * announce after the first timed out, `stopped` included.
 */
export class UdpTracker implements Announcer {
  private readonly host: string;
  private readonly port: number;

  constructor(
    readonly url: string,
    private readonly o: UdpTrackerOptions = {},
  ) {
    const u = new URL(url);
    this.host = u.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(u.port);
  }

  private random(): number {
    return Math.floor((this.o.random ?? Math.random)() * 2 ** 32) >>> 0;
  }

  /** Sends `build(tid)` and waits for the reply with the same transaction id, retransmitting. */
  private async exchange(
    socket: Socket,
    address: string,
    ipv6: boolean,
    build: (tid: number) => Uint8Array,
    signal: AbortSignal | undefined,
  ): Promise<Result<UdpResponse>> {
    const attempts = this.o.maxAttempts ?? 4;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (signal?.aborted) return fail('BT_TRACKER_TIMEOUT', 'aborted');
      const tid = this.random();
      const reply = await new Promise<Result<UdpResponse> | null>((resolve) => {
        const finish = (v: Result<UdpResponse> | null) => {
          clearTimeout(timer);
          socket.off('message', onMessage);
          signal?.removeEventListener('abort', onAbort);
          resolve(v);
        };
        const onMessage = (msg: Buffer, from: { address: string; port: number }) => {
          if (from.port !== this.port || from.address !== address) return; // not our tracker: ignored
          const r = decodeUdpResponse(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), ipv6);
          if (r.ok && r.value.transactionId !== tid) return; // a late reply to an earlier attempt
          finish(r);
        };
        const onAbort = () => finish(fail('BT_TRACKER_TIMEOUT', 'aborted'));
        const timer = setTimeout(() => finish(null), udpTimeoutMs(attempt, this.o.baseTimeoutMs ?? 15_000));
        socket.on('message', onMessage);
        signal?.addEventListener('abort', onAbort, { once: true });
        socket.send(build(tid), this.port, address, (err) => {
          if (err) finish(fail('BT_TRACKER_UNREACHABLE', `UDP send failed: ${err.message}`, err));
        });
      });
      if (reply) {
        if (reply.ok && reply.value.action === 'error') {
          return fail('BT_TRACKER_FAILURE', `tracker says: ${reply.value.message}`);
        }
        return reply;
      }
    }
    return fail('BT_TRACKER_TIMEOUT', `no answer from ${this.url} after ${attempts} attempts`);
  }

  private async session<T>(
    signal: AbortSignal | undefined,
    work: (socket: Socket, address: string, ipv6: boolean, connectionId: bigint) => Promise<Result<T>>,
  ): Promise<Result<T>> {
    if (!this.port) return fail('BT_TRACKER_BAD_URL', `${this.url} has no port`);
    let address: string;
    try {
      address = (await lookup(this.host)).address;
    } catch (cause) {
      return fail('BT_TRACKER_UNREACHABLE', `cannot resolve ${this.host}`, cause);
    }
    const ipv6 = isIPv6(address);
    const socket = createSocket(ipv6 ? 'udp6' : 'udp4');
    socket.on('error', () => {}); // send errors are reported through the send callback
    try {
      await new Promise<void>((r) => socket.bind(0, r));
      const c = await this.exchange(socket, address, ipv6, encodeConnect, signal);
      if (!c.ok) return c;
      if (c.value.action !== 'connect')
        return fail('BT_TRACKER_BAD_REPLY', `expected a connect reply, got ${c.value.action}`);
      return await work(socket, address, ipv6, c.value.connectionId);
    } finally {
      socket.close();
    }
  }

  announce(params: AnnounceParams, signal?: AbortSignal): Promise<Result<AnnounceReply>> {
    return this.session(signal, async (socket, address, ipv6, cid) => {
      const r = await this.exchange(socket, address, ipv6, (tid) => encodeAnnounce(cid, tid, params), signal);
      if (!r.ok) return r;
      if (r.value.action !== 'announce')
        return fail('BT_TRACKER_BAD_REPLY', `expected an announce reply, got ${r.value.action}`);
      return ok(r.value.reply);
    });
  }

  scrape(
    infoHashes: readonly Uint8Array[],
    signal?: AbortSignal,
  ): Promise<Result<ReadonlyMap<string, ScrapeEntry>>> {
    // BEP 15: about 74 hashes fit one datagram
    const hashes = infoHashes.slice(0, 74);
    return this.session(signal, async (socket, address, ipv6, cid) => {
      const r = await this.exchange(socket, address, ipv6, (tid) => encodeScrape(cid, tid, hashes), signal);
      if (!r.ok) return r;
      if (r.value.action !== 'scrape')
        return fail('BT_TRACKER_BAD_REPLY', `expected a scrape reply, got ${r.value.action}`);
      const entries = r.value.entries;
      return ok(new Map(hashes.flatMap((h, i) => (entries[i] ? [[toHex(h), entries[i]!] as const] : []))));
    });
  }
}

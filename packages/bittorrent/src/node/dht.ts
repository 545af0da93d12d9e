import { createHash } from 'node:crypto';
import type DHT from 'bittorrent-dht';
import { toHex } from '../bytes.ts';
import type { PeerSource, PeerSourceHandler } from '../discovery/peer-source.ts';
import { fail, ok, type Result } from '../errors.ts';
import type { PeerAddress } from '../transport.ts';
import { verifyEd25519 } from './mutable-item.ts';

/** Well-known public bootstrap routers, for callers that want the public DHT (never a default). */
export const PUBLIC_DHT_BOOTSTRAP: readonly string[] = [
  'router.bittorrent.com:6881',
  'router.utorrent.com:6881',
  'dht.transmissionbt.com:6881',
];

export interface DhtNodeOptions {
  /** "host:port" nodes to join through; required, so tests never touch the public DHT. [] = be a bootstrap node. */
  readonly bootstrap: readonly string[];
  /** UDP port (0 = any free one). */
  readonly port?: number;
  /** Address to bind (default 127.0.0.1; "0.0.0.0" for the Internet). */
  readonly host?: string;
}

export interface DhtSourceOptions {
  /** Re-lookup and re-announce period (default 15 min, as BEP 5 suggests tokens last ~10 min). */
  readonly intervalMs?: number;
  /** TCP port peers should dial us on; 0 = do not announce (lookup only). */
  readonly announcePort: number;
  /**
   * Delay before the next round after one that found no peer (default `intervalMs`): a
   * follower that learnt of a torrent moments after its seeder did looks again soon.
   */
  readonly retryMs?: number;
}

/**
 * A BEP 5 DHT node (the `bittorrent-dht` library) shared by every torrent of a process. Each
 * torrent gets a PeerSource from `peerSource()`, which looks up and announces its info-hash.
 */
export class DhtNode {
  private constructor(private readonly dht: DHT) {}

  /**
   * Binds and joins the DHT through `bootstrap`. `bittorrent-dht` is loaded here, on first
   * use: a process without a DHT (`swarmcast get` without --dht) does not load it at start.
   */
  static async start(o: DhtNodeOptions): Promise<Result<DhtNode>> {
    const { default: DHT } = await import('bittorrent-dht');
    // verify: BEP 44 mutable items are stored and returned only with a valid Ed25519 signature.
    const dht = new DHT({ bootstrap: [...o.bootstrap], host: false, verify: verifyEd25519 });
    const started = await new Promise<Error | null>((resolve) => {
      dht.once('error', (err: Error) => resolve(err));
      dht.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve(null));
    });
    if (started) {
      dht.destroy();
      return fail(
        'BT_DHT_BIND',
        `cannot bind the DHT on ${o.host ?? '127.0.0.1'}:${o.port ?? 0}: ${started.message}`,
        started,
      );
    }
    // later socket errors must not crash the process; lookups simply find less
    dht.on('error', () => {});
    dht.on('warning', () => {});
    if (o.bootstrap.length > 0)
      await new Promise<void>((r) =>
        (dht as unknown as { ready?: boolean }).ready ? r() : dht.once('ready', () => r()),
      );
    return ok(new DhtNode(dht));
  }

  get port(): number {
    return this.dht.address().port;
  }

  /** Known routing-table nodes (for tests and status). */
  get nodeCount(): number {
    return this.dht.nodes.count();
  }

  /** A PeerSource for one torrent (20-byte info-hash; a v2 hash truncated, BEP 52). */
  peerSource(infoHash: Uint8Array, o: DhtSourceOptions): PeerSource {
    const dht = this.dht;
    const hex = toHex(infoHash);
    // the library calls Buffer methods on it (toString('hex')): a bare Uint8Array would be mis-keyed
    const key = Buffer.from(infoHash);
    return {
      name: 'dht',
      async run(handler: PeerSourceHandler, signal: AbortSignal): Promise<void> {
        let found = 0;
        const onPeer = (peer: { host: string; port: number }, hash: Uint8Array) => {
          if (toHex(hash) !== hex || !(peer.port > 0 && peer.port < 65536)) return;
          found++;
          const address: PeerAddress = { host: peer.host, port: peer.port };
          handler.peers([address]);
        };
        dht.on('peer', onPeer);
        try {
          while (!signal.aborted) {
            // get_peers every round (an announce alone reuses its cached table and finds nobody new)
            await new Promise<void>((resolve) => dht.lookup(key, () => resolve()));
            if (o.announcePort > 0 && !signal.aborted) {
              await new Promise<void>((resolve) =>
                dht.announce(key, o.announcePort, (err) => {
                  if (err)
                    handler.warning?.({
                      code: 'BT_DHT_ANNOUNCE',
                      message: `DHT announce failed: ${err.message}`,
                    });
                  resolve();
                }),
              );
            }
            if (signal.aborted) break;
            const interval = o.intervalMs ?? 15 * 60_000;
            const wait = found === 0 ? Math.min(interval, o.retryMs ?? interval) : interval;
            await new Promise<void>((resolve) => {
              const t = setTimeout(done, wait);
              function done() {
                clearTimeout(t);
                signal.removeEventListener('abort', done);
                resolve();
              }
              signal.addEventListener('abort', done, { once: true });
            });
          }
        } finally {
          dht.off('peer', onPeer);
        }
      },
    };
  }

  /**
   * BEP 44: stores a mutable item under sha1(publicKey + salt) at the nodes closest to it,
   * signed by `sign`. Storing nodes refuse a sequence number not above the one they hold
   * (error 302) and a bad signature. Resolves with how many nodes answered.
   */
  putMutable(o: {
    publicKey: Uint8Array;
    seq: number;
    value: Record<string, Uint8Array | number | string> | Uint8Array;
    sign: (message: Uint8Array) => Uint8Array;
    salt?: Uint8Array;
  }): Promise<Result<{ target: string; nodes: number }>> {
    return new Promise((resolve) => {
      try {
        this.dht.put(
          {
            k: Buffer.from(o.publicKey),
            seq: o.seq,
            v: o.value instanceof Uint8Array ? Buffer.from(o.value) : o.value,
            sign: (m: Uint8Array) => Buffer.from(o.sign(m)),
            ...(o.salt ? { salt: Buffer.from(o.salt) } : {}),
          },
          (err, target, nodes) =>
            err
              ? resolve(fail('BT_DHT_PUT', `DHT put failed: ${err.message}`, err))
              : resolve(ok({ target: toHex(target as Uint8Array), nodes: nodes ?? 0 })),
        );
      } catch (err) {
        resolve(fail('BT_DHT_PUT', `DHT put refused: ${(err as Error).message}`, err));
      }
    });
  }

  /**
   * BEP 44: the mutable item of `publicKey` (+ salt) with the highest sequence number any
   * node returned whose signature verifies; null when none does.
   */
  getMutable(
    publicKey: Uint8Array,
    salt?: Uint8Array,
  ): Promise<{ seq: number; value: unknown; signature: Uint8Array } | null> {
    const target = createHash('sha1')
      .update(Buffer.from(publicKey))
      .update(salt ? Buffer.from(salt) : Buffer.alloc(0))
      .digest();
    return new Promise((resolve) => {
      this.dht.get(target, { ...(salt ? { salt: Buffer.from(salt) } : {}), cache: false }, (err, r) => {
        if (
          err ||
          !r ||
          typeof r.seq !== 'number' ||
          !r.k ||
          !Buffer.from(r.k).equals(Buffer.from(publicKey))
        )
          return resolve(null);
        resolve({ seq: r.seq, value: r.v, signature: new Uint8Array(r.sig as Uint8Array) });
      });
    });
  }

  close(): Promise<void> {
    return new Promise((r) => this.dht.destroy(() => r()));
  }
}

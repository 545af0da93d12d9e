import DHT from 'bittorrent-dht';
import { toHex } from '../bytes.ts';
import type { PeerSource, PeerSourceHandler } from '../discovery/peer-source.ts';
import { fail, ok, type Result } from '../errors.ts';
import type { PeerAddress } from '../transport.ts';

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
}

/**
 * A BEP 5 DHT node (the `bittorrent-dht` library) shared by every torrent of a process. Each
 * torrent gets a PeerSource from `peerSource()`, which looks up and announces its info-hash.
 */
export class DhtNode {
  private constructor(private readonly dht: DHT) {}

  /** Binds and joins the DHT through `bootstrap`. */
  static async start(o: DhtNodeOptions): Promise<Result<DhtNode>> {
    const dht = new DHT({ bootstrap: [...o.bootstrap], host: false });
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
        const onPeer = (peer: { host: string; port: number }, hash: Uint8Array) => {
          if (toHex(hash) !== hex || !(peer.port > 0 && peer.port < 65536)) return;
          const found: PeerAddress = { host: peer.host, port: peer.port };
          handler.peers([found]);
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
            await new Promise<void>((resolve) => {
              const t = setTimeout(done, o.intervalMs ?? 15 * 60_000);
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

  close(): Promise<void> {
    return new Promise((r) => this.dht.destroy(() => r()));
  }
}

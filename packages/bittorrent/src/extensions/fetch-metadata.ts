import { toHex } from '../bytes.ts';
import { fail, ok, type Result } from '../errors.ts';
import type { Hasher } from '../hasher.ts';
import { PeerConnection } from '../peer/peer-connection.ts';
import { type PeerEvents, peerEvents } from '../peer/peer-events.ts';
import type { Clock, TimerHandle, Timers } from '../timers.ts';
import { codedError, type Dialer, type PeerAddress, type Transport } from '../transport.ts';
import {
  decodeHashes,
  encodeHashRequest,
  type HashRequest,
  joinLayer,
  layerRequests,
  type MissingLayer,
  verifyHashes,
} from './bep-0052-hashes.ts';
import type { ExtensionHandshake } from './extension-handshake.ts';
import { PeerExtensions } from './peer-extensions.ts';
import { MetadataAssembler } from './ut-metadata.ts';

const MAX_ATTEMPTS = 6;

/** Options of {@link MetadataFetcher}. */
export interface FetchMetadataOptions {
  /** The 20-byte info-hash of the handshake (v1, or the truncated v2 hash). */
  readonly infoHash: Uint8Array;
  /** What `hash(info)` must start with (default `infoHash`; the full 32 bytes for v2). */
  readonly expectedHash?: Uint8Array;
  /** SHA-1 for v1, SHA-256 for v2 (injected: the core has no crypto of its own). */
  readonly hash: (data: Uint8Array) => Promise<Uint8Array>;
  readonly peerId: Uint8Array;
  readonly dialer: Dialer;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly defer?: (fn: () => void) => void;
  /** Connections at once (default 4). */
  readonly maxConnections?: number;
  /** A peer that has not delivered every piece in this long is dropped (default 15 s). */
  readonly peerTimeoutMs?: number;
  readonly signal?: AbortSignal;
  /**
   * A v2-only torrent's info dict lacks the piece layers of files longer than one piece:
   * given the verified info dict, which layers to fetch (BEP 52 hash requests) before the
   * fetch counts as done. The layers land in {@link MetadataFetcher.pieceLayers}.
   */
  readonly layers?: {
    missing(
      info: Uint8Array,
    ): Promise<{ readonly files: readonly MissingLayer[]; readonly pieceLength: number }>;
    readonly hasher: Hasher;
  };
}

/** The piece layers being fetched from the active peer, after the info dict verified. */
interface LayerFetch {
  readonly pieceLength: number;
  readonly files: readonly MissingLayer[];
  /** Requests sent and not yet answered, by their encoded body. */
  readonly pending: Map<string, { file: MissingLayer; request: HashRequest }>;
  /** Verified runs of base hashes, per file root and start index. */
  readonly runs: Map<string, Map<number, readonly Uint8Array[]>>;
}

interface Candidate {
  readonly conn: PeerConnection;
  readonly ext: PeerExtensions;
  /** Pieces asked of this peer and not yet answered. */
  readonly asked: Set<number>;
  startedAt: number;
}

/**
 * Fetches a torrent's info dictionary from peers (BEP 9), for a bare magnet link. Blame is
 * kept simple and certain: all pieces are asked of one peer at a time (metadata is a few
 * 16 KiB pieces), so a hash mismatch convicts that peer. Peers learnt by PEX are tried too.
 * Start with `start()`, feed addresses with `addPeers`, await `result`.
 */
export class MetadataFetcher {
  /** Resolves once with the verified info dictionary, or an error (aborted). */
  readonly result: Promise<Result<Uint8Array>>;
  private resolve!: (r: Result<Uint8Array>) => void;
  private readonly queue: PeerAddress[] = [];
  private readonly seen = new Set<string>();
  private readonly conns = new Set<PeerConnection>();
  /** Where peers that dialled us listen (their extension handshake's `p`): dial them later. */
  readonly incomingPeers: PeerAddress[] = [];
  private readonly addressOf = new Map<PeerConnection, PeerAddress>();
  /** Addresses to dial again later: refused, dropped or timed out before the metadata came. */
  private readonly retries: { address: PeerAddress; at: number }[] = [];
  private readonly attempts = new Map<string, number>();
  /** Peers that sent metadata failing the hash: never asked again. */
  private readonly liars = new Set<string>();
  private readonly ready: Candidate[] = [];
  private active: Candidate | undefined;
  private assembler: MetadataAssembler | undefined;
  private dialing = 0;
  private timer: TimerHandle | undefined;
  private finished = false;
  private readonly events: PeerEvents;
  /** The verified info dict, once we have it (kept across peers while layers are fetched). */
  private info: Uint8Array | undefined;
  private layerFetch: LayerFetch | undefined;
  /** Piece layers fetched and proven against their roots, by the hex of the root. */
  readonly pieceLayers = new Map<string, Uint8Array>();

  constructor(private readonly options: FetchMetadataOptions) {
    this.result = new Promise((r) => {
      this.resolve = r;
    });
    this.events = peerEvents({
      handshake: (conn) => {
        if (!conn.supportsExtended) {
          conn.close(codedError('BT_METADATA_REFUSED', 'peer does not speak the extension protocol'));
          return;
        }
        // BEP 6 wants a piece set first; we have nothing.
        conn.sendBitfield(new Uint8Array(0), 0, 0);
        this.extOf(conn)?.sendHandshake();
      },
      extended: (conn, id, payload) => this.extOf(conn)?.onExtended(id, payload),
      hashMessage: (conn, type, payload) => void this.onHashMessage(conn, type, payload),
      closed: (conn) => this.dropped(conn),
    });
  }

  private readonly exts = new Map<PeerConnection, PeerExtensions>();
  private extOf(conn: PeerConnection): PeerExtensions | undefined {
    return this.exts.get(conn);
  }

  start(): void {
    this.options.signal?.addEventListener(
      'abort',
      () => this.finish(fail('BT_METADATA_ABORTED', 'aborted')),
      {
        once: true,
      },
    );
    this.timer = this.options.timers.setInterval(() => this.tick(), 1000);
    this.dialMore();
  }

  /** More addresses to try (tracker, DHT, the magnet's `x.pe`). */
  addPeers(addresses: readonly PeerAddress[]): void {
    for (const a of addresses) {
      const k = `${a.host}|${a.port}`;
      if (this.seen.has(k)) continue;
      this.seen.add(k);
      this.queue.push(a);
    }
    this.dialMore();
  }

  close(): void {
    this.finish(fail('BT_METADATA_ABORTED', 'closed'));
  }

  /** A peer that dialled us (its handshake not read yet): asked like a dialled one, never redialled. */
  addIncoming(transport: Transport): void {
    if (this.finished || this.conns.size >= (this.options.maxConnections ?? 4) * 2) {
      transport.close(codedError('BT_METADATA_ABORTED', this.finished ? 'done' : 'too many connections'));
      return;
    }
    this.connect({ transport });
  }

  private dialMore(): void {
    const max = this.options.maxConnections ?? 4;
    while (!this.finished && this.queue.length > 0 && this.conns.size + this.dialing < max) {
      const address = this.queue.shift() as PeerAddress;
      this.dialing++;
      void this.options.dialer.dial(address, this.options.signal).then((r) => {
        this.dialing--;
        if (!r.ok) {
          this.retryLater(address);
          this.dialMore();
        } else if (this.finished) r.transport.close(codedError('BT_METADATA_ABORTED', 'done'));
        else this.connect(r, address);
      });
    }
  }

  /**
   * A peer may refuse us for a while and then serve (libtorrent refuses connections for some
   * seconds after a torrent starts; a magnet's only `x.pe` must not be given up on at once):
   * try again after 2, 4, 8, 16, 30 s, then never.
   */
  private retryLater(address: PeerAddress): void {
    const k = `${address.host}|${address.port}`;
    const n = (this.attempts.get(k) ?? 0) + 1;
    this.attempts.set(k, n);
    if (this.finished || n > MAX_ATTEMPTS || this.liars.has(k)) return;
    this.retries.push({ address, at: this.options.clock.now() + Math.min(30_000, 2000 * 2 ** (n - 1)) });
  }

  private connect(r: { transport: Transport }, address?: PeerAddress): void {
    const o = this.options;
    const conn = new PeerConnection(r.transport, {
      infoHash: o.infoHash,
      peerId: o.peerId,
      clock: o.clock,
      timers: o.timers,
      defer: o.defer,
    });
    const ext = new PeerExtensions(
      conn,
      { info: () => undefined, pex: true, now: () => o.clock.now() },
      {
        handshake: (c, h) => this.offered(c, h),
        metadata: (c, piece, total, data) => this.received(c, piece, total, data),
        metadataRejected: (c) => c.close(codedError('BT_METADATA_REFUSED', 'peer refused a metadata piece')),
        pex: (_c, msg) => this.addPeers(msg.added),
      },
    );
    this.exts.set(conn, ext);
    this.conns.add(conn);
    if (address) this.addressOf.set(conn, address);
    conn.start(this.events);
  }

  /** A peer's extension handshake: usable if it serves ut_metadata of a plausible size. */
  private offered(conn: PeerConnection, h: ExtensionHandshake): void {
    const ext = this.exts.get(conn);
    if (!ext) return;
    const remote = conn.transport.remote;
    if (!remote.outgoing && remote.address && h.p && this.incomingPeers.length < 200)
      this.incomingPeers.push({ host: remote.address, port: h.p });
    if (!h.metadataSize || !h.m.ut_metadata || (this.assembler && this.assembler.size !== h.metadataSize)) {
      // Free the slot for a peer that can serve it.
      conn.close(codedError('BT_METADATA_REFUSED', 'peer does not serve this metadata'));
      return;
    }
    this.ready.push({ conn, ext, asked: new Set(), startedAt: 0 });
    this.next();
  }

  /** Asks the next ready peer for every piece. */
  private next(): void {
    if (this.finished || this.active) return;
    const c = this.ready.shift();
    if (!c) return;
    const size = c.ext.remoteMetadataSize as number;
    if (!this.assembler)
      this.assembler = new MetadataAssembler(
        size,
        this.options.expectedHash ?? this.options.infoHash,
        this.options.hash,
      );
    if (this.assembler.size !== size) {
      this.next();
      return;
    }
    this.active = c;
    c.startedAt = this.options.clock.now();
    if (this.info) {
      // The info dict is known: this peer is asked for the piece layers the last one lacked.
      this.askLayers(c);
      return;
    }
    for (let p = this.assembler.nextRequest(); p !== undefined; p = this.assembler.nextRequest()) {
      c.asked.add(p);
      c.ext.requestMetadata(p);
    }
  }

  private received(conn: PeerConnection, piece: number, total: number, data: Uint8Array): void {
    const c = this.active;
    const asm = this.assembler;
    if (!c || c.conn !== conn || !asm || !c.asked.delete(piece)) return;
    const added = asm.add(piece, total, data);
    if (!added.ok) {
      conn.close(added.error);
      return;
    }
    if (!asm.complete) return;
    void asm.verify().then((v) => {
      if (v.ok) void this.verified(c, v.value);
      else {
        // Every piece came from this peer: it lied.
        const a = this.addressOf.get(conn);
        if (a) this.liars.add(`${a.host}|${a.port}`);
        conn.close(v.error);
      }
    });
  }

  /** The info dict verified: done, or on to its piece layers (v2-only torrents). */
  private async verified(c: Candidate, info: Uint8Array): Promise<void> {
    this.info = info;
    const layers = this.options.layers;
    if (!layers) return this.finish(ok(info));
    const want = await layers.missing(info);
    if (want.files.length === 0) return this.finish(ok(info));
    this.layerFetch = { ...want, pending: new Map(), runs: new Map() };
    const now = this.active ?? c;
    if (!now.conn.closed) this.askLayers(now);
  }

  /** Sends every hash request of the layers still missing to `c`. */
  private askLayers(c: Candidate): void {
    const f = this.layerFetch;
    if (!f) return;
    f.pending.clear();
    for (const file of f.files) {
      if (this.pieceLayers.has(toHex(file.root))) continue;
      for (const request of layerRequests(file, f.pieceLength)) {
        const body = encodeHashRequest(request);
        f.pending.set(toHex(body), { file, request });
        c.conn.sendHashMessage('hash-request', body);
      }
    }
    if (f.pending.size === 0 && this.info) this.finish(ok(this.info));
  }

  private async onHashMessage(
    conn: PeerConnection,
    type: 'hash-request' | 'hashes' | 'hash-reject',
    payload: Uint8Array,
  ): Promise<void> {
    const f = this.layerFetch;
    if (type === 'hash-request') {
      // We hold no layers to serve: BEP 52 wants an answer all the same.
      if (payload.length === 48) conn.sendHashMessage('hash-reject', payload);
      return;
    }
    if (!f || this.active?.conn !== conn) return;
    const key = toHex(payload.subarray(0, 48));
    const asked = f.pending.get(key);
    if (!asked) return;
    if (type === 'hash-reject') {
      conn.close(codedError('BT_METADATA_REFUSED', 'peer rejected a hash request for a piece layer'));
      return;
    }
    const got = decodeHashes(payload);
    if (!got.ok) {
      conn.close(got.error);
      return;
    }
    const hashes = await verifyHashes(
      asked.file,
      asked.request,
      got.value.hashes,
      this.options.layers!.hasher,
    );
    if (this.finished || !f.pending.delete(key)) return;
    if (!hashes.ok) {
      // The proof is against the root from the verified info dict: this peer lied.
      const a = this.addressOf.get(conn);
      if (a) this.liars.add(`${a.host}|${a.port}`);
      conn.close(hashes.error);
      return;
    }
    const root = toHex(asked.file.root);
    const runs = f.runs.get(root) ?? new Map<number, readonly Uint8Array[]>();
    f.runs.set(root, runs);
    runs.set(asked.request.index, hashes.value);
    if (![...f.pending.values()].some((p) => toHex(p.file.root) === root))
      this.pieceLayers.set(root, joinLayer(asked.file, runs));
    if (f.pending.size === 0 && this.info) this.finish(ok(this.info));
  }

  private dropped(conn: PeerConnection): void {
    this.conns.delete(conn);
    const address = this.addressOf.get(conn);
    this.addressOf.delete(conn);
    if (address) this.retryLater(address);
    this.exts.delete(conn);
    const i = this.ready.findIndex((c) => c.conn === conn);
    if (i >= 0) this.ready.splice(i, 1);
    if (this.active?.conn === conn) {
      // Start over with the next peer: keeping this one's pieces would blur the blame (a
      // verified info dict is kept: the next peer is asked only for the missing layers).
      if (!this.info) this.assembler = undefined;
      this.active = undefined;
      this.next();
    }
    this.dialMore();
  }

  private tick(): void {
    const now = this.options.clock.now();
    for (let i = this.retries.length - 1; i >= 0; i--) {
      const r = this.retries[i] as { address: PeerAddress; at: number };
      if (r.at > now) continue;
      this.retries.splice(i, 1);
      this.queue.push(r.address);
    }
    this.dialMore();
    const c = this.active;
    if (c && this.options.clock.now() - c.startedAt >= (this.options.peerTimeoutMs ?? 15_000)) {
      c.conn.close(codedError('BT_METADATA_TIMEOUT', 'peer did not send the metadata in time'));
    }
  }

  private finish(r: Result<Uint8Array>): void {
    if (this.finished) return;
    this.finished = true;
    this.timer?.cancel();
    for (const conn of [...this.conns]) conn.close();
    this.resolve(r.ok ? ok(r.value) : r);
  }
}

import type { Random } from '../timers.ts';
import type {
  CodedError,
  Dialer,
  DialResult,
  PeerAddress,
  RemoteInfo,
  Transport,
  TransportHandler,
} from '../transport.ts';
import type { VirtualTime } from './virtual-time.ts';

/** The access link of one simulated node. */
export interface LinkSpec {
  /** Upload capacity, bytes per second. */
  readonly up: number;
  /** Download capacity, bytes per second. */
  readonly down: number;
  /** One-way latency added to everything this node sends, ms. */
  readonly latencyMs: number;
  /**
   * Probability that a chunk this node sends is "lost" once; the stream stays reliable and
   * ordered (as TCP), so a loss shows as a retransmission delay and head-of-line blocking.
   */
  readonly loss?: number;
}

/** A simulated host: an address, a link, and a handler for incoming connections. */
export interface SimNode {
  readonly host: string;
  readonly port: number;
  readonly link: LinkSpec;
  /** Where accepted connections go (set by whoever listens on this node). */
  accept: ((transport: Transport) => void) | undefined;
  upFreeAt: number;
  downFreeAt: number;
  /** Bytes this node has written to all its connections. */
  sent: number;
}

const HIGH_WATER = 256 * 1024;

class SimTransport implements Transport {
  peer!: SimTransport;
  private handler: TransportHandler | undefined;
  private pending: Array<{ chunk: Uint8Array | undefined; reason?: CodedError | undefined }> = [];
  private paused = false;
  private lastArrival = 0;
  private lastReach = 0;
  private queued = 0;
  private needDrain = false;
  closed = false;
  private closeDelivered = false;

  constructor(
    readonly remote: RemoteInfo,
    private readonly net: VirtualNetwork,
    readonly from: SimNode,
    readonly to: SimNode,
  ) {}

  get bufferedAmount(): number {
    return this.queued;
  }

  start(handler: TransportHandler): void {
    if (this.handler) throw new Error('transport already started');
    this.handler = handler;
    this.flushPending();
  }

  write(chunk: Uint8Array): boolean {
    if (this.closed) return false;
    if (chunk.length === 0) return true;
    const vt = this.net.time;
    const now = vt.now();
    const size = chunk.length;
    // Serialization on our uplink, then propagation (plus a retransmission delay when lost).
    const depart = Math.max(now, this.from.upFreeAt) + (size * 1000) / this.from.link.up;
    this.from.upFreeAt = depart;
    let reach = depart + this.from.link.latencyMs;
    if (this.from.link.loss && this.net.random() < this.from.link.loss) {
      reach += Math.max(200, 3 * this.from.link.latencyMs);
    }
    reach = Math.max(reach, this.lastReach);
    this.lastReach = reach;
    this.queued += size;
    vt.setTimeout(() => {
      this.queued -= size;
      this.from.sent += size;
      this.net.sent += size;
      if (this.needDrain && this.queued <= HIGH_WATER / 2 && !this.closed) {
        this.needDrain = false;
        this.handler?.drain();
      }
    }, depart - now);
    const peer = this.peer;
    vt.setTimeout(() => peer.reach(chunk), reach - now);
    const ok = this.queued <= HIGH_WATER;
    if (!ok) this.needDrain = true;
    return ok;
  }

  /** A chunk reached our node: it queues on our downlink, in order per connection. */
  private reach(chunk: Uint8Array): void {
    const vt = this.net.time;
    const now = vt.now();
    const start = Math.max(now, this.from.downFreeAt);
    let arrive = start + (chunk.length * 1000) / this.from.link.down;
    this.from.downFreeAt = arrive;
    arrive = Math.max(arrive, this.lastArrival);
    this.lastArrival = arrive;
    vt.setTimeout(() => this.receive(chunk), arrive - now);
  }

  private receive(chunk: Uint8Array): void {
    if (this.closeDelivered) return;
    this.pending.push({ chunk });
    this.flushPending();
  }

  /** The FIN is delivered after every chunk that reached us before it. */
  private finReached(): void {
    const vt = this.net.time;
    vt.setTimeout(() => this.remoteClosed(), Math.max(0, this.lastArrival - vt.now()));
  }

  private remoteClosed(): void {
    this.pending.push({ chunk: undefined });
    this.flushPending();
  }

  private flushPending(): void {
    const h = this.handler;
    if (!h) return;
    while (this.pending.length > 0 && !this.paused && !this.closeDelivered) {
      const item = this.pending.shift()!;
      if (item.chunk) {
        h.data(item.chunk);
      } else {
        this.closed = true;
        this.closeDelivered = true;
        h.close(item.reason);
      }
    }
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.flushPending();
  }

  close(reason?: CodedError): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    const peer = this.peer;
    const vt = this.net.time;
    // The FIN follows the data already in flight.
    vt.setTimeout(
      () => peer.finReached(),
      Math.max(vt.now() + this.from.link.latencyMs, this.lastReach) - vt.now(),
    );
    vt.defer(() => {
      if (this.closeDelivered) return;
      this.closeDelivered = true;
      this.handler?.close(reason);
    });
  }
}

/**
 * A virtual network for the simulator: nodes with access links (rate, latency, loss), dialers
 * that produce connected {@link Transport} pairs, all in {@link VirtualTime}. Deterministic
 * for a given seed; byte counters per network for assertions.
 */
export class VirtualNetwork {
  private readonly nodes = new Map<string, SimNode>();
  /** Bytes written by all nodes. */
  sent = 0;

  constructor(
    readonly time: VirtualTime,
    readonly random: Random,
  ) {}

  /** Adds a node at `host:port`. */
  addNode(host: string, port: number, link: LinkSpec): SimNode {
    const node: SimNode = { host, port, link, accept: undefined, upFreeAt: 0, downFreeAt: 0, sent: 0 };
    this.nodes.set(`${host}:${port}`, node);
    return node;
  }

  node(address: PeerAddress): SimNode | undefined {
    return this.nodes.get(`${address.host}:${address.port}`);
  }

  /** Connects two nodes now: returns [dialer's end, acceptor's end]. */
  connect(from: SimNode, to: SimNode): [Transport, Transport] {
    const a = new SimTransport(
      { kind: 'sim', address: to.host, port: to.port, family: 'ipv4', outgoing: true },
      this,
      from,
      to,
    );
    const b = new SimTransport(
      { kind: 'sim', address: from.host, port: from.port, family: 'ipv4', outgoing: false },
      this,
      to,
      from,
    );
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  /** A dialer for `from`: connects after one round trip, or fails if nobody listens. */
  dialer(from: SimNode): Dialer {
    return {
      dial: (address: PeerAddress): Promise<DialResult> => {
        const to = this.node(address);
        return new Promise((resolve) => {
          const rtt = from.link.latencyMs + (to?.link.latencyMs ?? from.link.latencyMs);
          this.time.setTimeout(() => {
            if (!to?.accept) {
              resolve({
                ok: false,
                error: { code: 'BT_SIM_REFUSED', message: `nobody at ${address.host}:${address.port}` },
              });
              return;
            }
            const [a, b] = this.connect(from, to);
            to.accept(b);
            resolve({ ok: true, transport: a });
          }, rtt);
        });
      },
    };
  }
}

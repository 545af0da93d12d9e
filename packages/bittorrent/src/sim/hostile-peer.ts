import type { Random } from '../timers.ts';
import type { Transport } from '../transport.ts';
import { WireDecoder } from '../wire/decoder.ts';
import { encode } from '../wire/encode.ts';
import { encodeHandshake } from '../wire/handshake.ts';
import type { WireMessage } from '../wire/messages.ts';
import type { VirtualTime } from './virtual-time.ts';

/** What a scripted hostile peer does once connected. */
export type HostileBehaviour =
  /** Claims every piece and answers requests promptly with random bytes. */
  | 'corrupt-data'
  /** Claims every piece, unchokes, then never answers a request. */
  | 'lying-bitfield'
  /** Floods requests for blocks, thousands of them, while choked. */
  | 'request-flood'
  /** Sends piece data nobody asked for. */
  | 'unrequested-data'
  /**
   * Answers with the true bytes except the first block of each piece, which it corrupts: its
   * pieces fail only when mixed with an honest peer's blocks, so blame must be exact.
   */
  | 'corrupt-first-block'
  /** Handshakes, then says nothing: one of thousands of idle sockets holding descriptors. */
  | 'idle';

/**
 * A scripted fake peer (libtorrent's `fake_peer`): speaks the raw wire protocol over a
 * simulator transport (or a real TCP one), following one {@link HostileBehaviour}. It records what it saw so a
 * test can check how our node reacted.
 */
export class HostilePeer {
  readonly received: string[] = [];
  closed = false;
  blocksSent = 0;
  /** Per piece, the offsets of the blocks it answered (whatever their bytes). */
  readonly sent = new Map<number, number[]>();
  private readonly decoder = new WireDecoder();

  constructor(
    private readonly transport: Transport,
    private readonly options: {
      readonly behaviour: HostileBehaviour;
      readonly infoHash: Uint8Array;
      readonly peerId: Uint8Array;
      readonly pieceCount: number;
      readonly pieceLength: number;
      /** The simulator's clock; absent on real sockets (no behaviour needs it yet). */
      readonly time?: VirtualTime;
      readonly random: Random;
      /** The true content (for behaviours that mix true and false blocks). */
      readonly content?: Uint8Array;
    },
  ) {}

  start(): void {
    const o = this.options;
    this.transport.start({
      data: (chunk) => this.onData(chunk),
      drain: () => {},
      close: () => {
        this.closed = true;
      },
    });
    this.transport.write(encodeHandshake({ infoHash: o.infoHash, peerId: o.peerId, fast: true }));
    if (o.behaviour === 'idle') return;
    this.send({ type: 'have-all' }, { type: 'unchoke' });
    if (o.behaviour === 'request-flood') {
      const msgs: WireMessage[] = [{ type: 'interested' }];
      for (let i = 0; i < 3000; i++) {
        msgs.push({ type: 'request', index: i % o.pieceCount, begin: 0, length: 16384 });
      }
      this.send(...msgs);
    }
    if (o.behaviour === 'unrequested-data') {
      this.send({ type: 'piece', index: 0, begin: 1000, block: new Uint8Array(16384) });
    }
  }

  private send(...msgs: WireMessage[]): void {
    for (const m of msgs) if (!this.transport.closed) this.transport.write(encode(m));
  }

  private onData(chunk: Uint8Array): void {
    this.decoder.push(chunk);
    for (let m = this.decoder.next(); m !== undefined; m = this.decoder.next()) {
      this.received.push(m.type);
      if (m.type === 'request' && this.options.behaviour === 'corrupt-data') {
        const block = new Uint8Array(m.length);
        for (let i = 0; i < block.length; i++) block[i] = Math.floor(this.options.random() * 256);
        this.blocksSent++;
        this.send({ type: 'piece', index: m.index, begin: m.begin, block });
      }
      if (m.type === 'request' && this.options.behaviour === 'corrupt-first-block') {
        const at = m.index * this.options.pieceLength + m.begin;
        // A copy, whatever the content is (Buffer's slice is a view: XOR would corrupt the original).
        const block = Uint8Array.from(
          (this.options.content ?? new Uint8Array(0)).subarray(at, at + m.length),
        );
        if (block.length !== m.length) continue;
        if (m.begin === 0) for (let i = 0; i < block.length; i += 97) block[i] = (block[i] ?? 0) ^ 0x5a;
        this.blocksSent++;
        this.sent.set(m.index, [...(this.sent.get(m.index) ?? []), m.begin]);
        this.send({ type: 'piece', index: m.index, begin: m.begin, block });
      }
    }
  }
}

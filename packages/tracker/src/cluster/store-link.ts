/**
 * The channel between tracker workers that each own a partition of the swarms
 * (partitioned-store.ts): every worker listens on a Unix socket of its own, and a worker
 * that accepted an announce for another worker's partition sends it there and waits for
 * the answer. Frames: u32 LE length of what follows, u8 op, u32 LE request id, body
 * (batch-codec.ts records for announces, JSON for the rare scrape, torrents and stats).
 * A UDP announce is not asked about but handed over whole (`datagram`): the owner answers
 * it from its own handle of the shared UDP socket, so the client gets the answer from the
 * same address, and nothing comes back over the link.
 *
 * Why shaped so: a request is written into one buffer and the buffer goes out once per
 * event-loop turn (setImmediate), and the owner answers everything one read brought in
 * one write: with 128 UDP announces in flight a syscall and a wake-up per announce would
 * cost more than the announce. The primary is not on this path (its IPC serialises
 * messages and would add a hop and a third process's CPU per announce).
 */
import { unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { TrackerError } from '../errors.ts';
import type { MemorySwarmStore } from '../store/memory-store.ts';
import type { StoreAnnounce, StoreAnnounceResult } from '../store/swarm-store.ts';
import type { InfoHash } from '../types.ts';
import {
  Reader,
  readStoreAnnounce,
  readStoreResult,
  Writer,
  writeStoreAnnounce,
  writeStoreResult,
} from './batch-codec.ts';

const opAnnounce = 1;
const opAnnounceResult = 2;
const opCall = 3;
const opCallResult = 4;
const opDatagram = 5;
/** A frame longer than this is a bug or not ours: the link is dropped. */
const maxFrameBytes = 16 << 20;
/** Requests waiting on one owner; past this they fail at once (the owner is down or stuck). */
const maxWaiting = 100_000;

/** The partition owner's rarely used operations, as JSON. */
export type StoreCall =
  | { op: 'scrape'; hashes: InfoHash[] }
  | { op: 'torrents'; limit: number }
  | { op: 'stats' };

/** Writes frames into one buffer; `take()` hands the bytes of all of them. */
class FrameWriter {
  readonly w = new Writer();

  get empty(): boolean {
    return this.w.at === 0;
  }

  /** One frame; `body` writes into the writer (and reserves what it writes). */
  frame(op: number, id: number, body: (w: Writer) => void): void {
    const w = this.w;
    w.reserve(9);
    const start = w.at;
    w.at += 4;
    w.u8(op);
    w.buf.writeUInt32LE(id, w.at);
    w.at += 4;
    try {
      body(w);
    } catch (err) {
      w.at = start; // no half frame left behind
      throw err;
    }
    w.buf.writeUInt32LE(w.at - start - 4, start);
  }

  take(): Buffer {
    return this.w.take();
  }

  clear(): void {
    this.w.at = 0;
  }
}

/** Cuts a byte stream into frames. */
export class FrameReader {
  private pending: Buffer | null = null;

  /** Calls `onFrame` for each whole frame; false when the stream is not frames (drop it). */
  push(chunk: Buffer, onFrame: (op: number, id: number, body: Buffer) => void): boolean {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    let at = 0;
    while (buf.length - at >= 4) {
      const length = buf.readUInt32LE(at);
      if (length < 5 || length > maxFrameBytes) return false;
      if (buf.length - at - 4 < length) break;
      onFrame(buf[at + 4]!, buf.readUInt32LE(at + 5), buf.subarray(at + 9, at + 4 + length));
      at += 4 + length;
    }
    this.pending = at === buf.length ? null : buf.subarray(at);
    return true;
  }
}

interface Waiter {
  resolve(body: Buffer): void;
  reject(err: Error): void;
}

/**
 * This worker's side of the channel to one partition owner. Connects on first use; while
 * the owner is not listening yet (starting, or a replacement for one that died) requests
 * wait up to `patienceMs` and the connection is retried; a connection that breaks fails
 * the requests it carried (their announces answer TRK_STORE_UNAVAILABLE).
 */
export class StoreLink {
  private socket: Socket | null = null;
  private connected = false;
  private readonly out = new FrameWriter();
  private reader = new FrameReader();
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 1;
  private retryUntil = 0;
  private flushScheduled = false;
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly patienceMs = 10_000,
  ) {}

  announce(a: StoreAnnounce): Promise<StoreAnnounceResult | TrackerError> {
    return this.request(opAnnounce, (w) => {
      if (!writeStoreAnnounce(w, a)) throw new Error('announce too large for a store record');
    }).then((body) => readStoreResult(new Reader(body)));
  }

  call<T>(c: StoreCall): Promise<T> {
    const json = Buffer.from(JSON.stringify(c));
    return this.request(opCall, (w) => w.raw(json)).then((body) => JSON.parse(body.toString()) as T);
  }

  /**
   * Hands a UDP datagram to the owner, which answers its sender itself. Fire and forget:
   * while the owner is unreachable the datagram is lost, as any datagram may be (the
   * client asks again).
   */
  datagram(packet: Uint8Array, address: string, port: number): void {
    if (this.closed || address.length > 255) return;
    this.out.frame(opDatagram, 0, (w) => {
      w.reserve(2 + 256);
      w.u16(port);
      w.text8(address);
      w.raw(packet);
    });
    this.send();
  }

  private send(): void {
    if (!this.socket) this.connect();
    else if (this.connected && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  private request(op: number, body: (w: Writer) => void): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error('store link closed'));
    if (this.waiting.size >= maxWaiting) return Promise.reject(new Error('partition owner not answering'));
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    try {
      this.out.frame(op, id, body);
    } catch (err) {
      return Promise.reject(err);
    }
    const answer = new Promise<Buffer>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    this.send();
    return answer;
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.connected && this.socket && !this.out.empty) this.socket.write(this.out.take());
  };

  private connect(): void {
    if (this.retryUntil === 0) this.retryUntil = Date.now() + this.patienceMs;
    const socket = createConnection(this.path);
    this.socket = socket;
    socket.on('connect', () => {
      this.connected = true;
      this.retryUntil = 0;
      this.flush();
    });
    socket.on('data', (chunk: Buffer) => {
      const ok = this.reader.push(chunk, (op, id, body) => {
        const waiter = this.waiting.get(id);
        if (!waiter || (op !== opAnnounceResult && op !== opCallResult)) return;
        this.waiting.delete(id);
        waiter.resolve(body);
      });
      if (!ok) socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const wasConnected = this.connected;
      this.socket = null;
      this.connected = false;
      this.reader = new FrameReader();
      if (this.closed) return this.fail(new Error('store link closed'));
      // Not listening yet: the requests are still only in `out`; try again shortly.
      if (!wasConnected && this.waiting.size > 0 && Date.now() < this.retryUntil) {
        setTimeout(() => {
          if (!this.socket && !this.closed) this.connect();
        }, 50).unref();
        return;
      }
      this.fail(new Error('partition owner unavailable'));
    });
  }

  private fail(err: Error): void {
    this.retryUntil = 0;
    this.out.clear();
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.reject(err);
  }

  close(): void {
    this.closed = true;
    if (this.socket) this.socket.destroy();
    else this.fail(new Error('store link closed'));
  }
}

/** What the owner does with a UDP datagram another worker handed over. */
export type DatagramHandler = (packet: Buffer, address: string, port: number) => void;

/**
 * The owner's side: answers other workers' requests for the swarms of `local` on a Unix
 * socket at `path` (a stale socket file of a worker that died is replaced), and gives
 * handed-over datagrams to `onDatagram`.
 */
export async function serveStorePartition(
  path: string,
  local: MemorySwarmStore,
  onDatagram: DatagramHandler = () => undefined,
): Promise<{ server: Server; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    const reader = new FrameReader();
    const out = new FrameWriter();
    const answerCall = (id: number, body: Buffer) => {
      let work: Promise<unknown>;
      try {
        const c = JSON.parse(body.toString()) as StoreCall;
        if (c.op === 'scrape') work = local.scrape(c.hashes).then((m) => [...m]);
        else if (c.op === 'torrents') work = local.torrents(c.limit);
        else work = local.stats();
      } catch {
        socket.destroy();
        return;
      }
      void work.then((value) => {
        if (socket.destroyed) return;
        // `out` is empty between reads (each read's answers go out at its end), so the
        // connection's writer serves here too: no 64 KiB buffer per call.
        const json = Buffer.from(JSON.stringify(value));
        out.frame(opCallResult, id, (w) => w.raw(json));
        socket.write(out.take());
      });
    };
    socket.on('data', (chunk: Buffer) => {
      let ok: boolean;
      try {
        ok = reader.push(chunk, (op, id, body) => {
          if (op === opAnnounce) {
            const result = local.announceNow(readStoreAnnounce(new Reader(body)));
            out.frame(opAnnounceResult, id, (w) => writeStoreResult(w, result));
          } else if (op === opDatagram) {
            const r = new Reader(body);
            const port = r.u16();
            const address = r.text8();
            if (r.at > body.length) throw new Error('short datagram frame');
            // A copy: the frame is a view of a read buffer that the next read may reuse.
            onDatagram(Buffer.from(body.subarray(r.at)), address, port);
          } else if (op === opCall) answerCall(id, body);
          else throw new Error(`unknown store op ${op}`);
        });
      } catch {
        ok = false;
      }
      if (!ok) {
        socket.destroy();
        return;
      }
      // Everything this read brought is answered in one write.
      if (!out.empty) socket.write(out.take());
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await unlink(path).catch(() => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    // Also drops the other workers' connections to this partition.
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Peer wire throughput, ours vs WebTorrent's `bittorrent-protocol`, in one process:
 * 1. decoding the same stream of piece messages cut into 64 KiB chunks (what a socket delivers);
 * 2. two peers in memory (our PeerConnection pair over memoryTransportPair; their Wire pair
 *    piped a.pipe(b).pipe(a)), one requesting 16 KiB blocks 256 deep, the other serving them.
 * Side by side in one process, alternating, WIRE_BENCH_ROUNDS rounds (default 5); prints
 * medians and the ratio. Size with WIRE_BENCH_MB (default 256). The machine is shared:
 * quote medians only.
 */
// @ts-expect-error bittorrent-protocol ships no types; it is only the reference here.
import Wire from 'bittorrent-protocol';
import { memoryTransportPair } from '../src/memory-transport.ts';
import { PeerConnection, peerEvents } from '../src/peer/index.ts';
import { systemClock, systemTimers } from '../src/timers.ts';
import { encode, encodeHandshake, WireDecoder } from '../src/wire/index.ts';

const MB = Number(process.env.WIRE_BENCH_MB ?? 256);
const ROUNDS = Number(process.env.WIRE_BENCH_ROUNDS ?? 5);
const infoHash = new Uint8Array(20).fill(1);
const peerId = new Uint8Array(20).fill(2);

function stream(): Uint8Array[] {
  const block = new Uint8Array(16384).fill(7);
  const frames: Uint8Array[] = [encodeHandshake({ infoHash, peerId, fast: true, extended: true })];
  const count = (MB * 1024 * 1024) / block.length;
  for (let i = 0; i < count; i++)
    frames.push(encode({ type: 'piece', index: i >> 4, begin: (i & 15) * 16384, block }));
  const total = frames.reduce((n, f) => n + f.length, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const f of frames) {
    all.set(f, at);
    at += f.length;
  }
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < all.length; i += 65536) chunks.push(all.subarray(i, i + 65536));
  return chunks;
}

function ours(chunks: Uint8Array[]): number {
  const d = new WireDecoder();
  let pieces = 0;
  for (const c of chunks) {
    d.push(c);
    for (let m = d.next(); m !== undefined; m = d.next()) if (m.type === 'piece') pieces++;
  }
  return pieces;
}

async function reference(chunks: Uint8Array[]): Promise<number> {
  const wire = new Wire();
  let pieces = 0;
  wire.on('piece', () => {
    pieces++;
  });
  wire.on('error', () => {});
  await new Promise<void>((resolve) => {
    let i = 0;
    const pump = () => {
      while (i < chunks.length) {
        if (!wire.write(Buffer.from(chunks[i]!.buffer, chunks[i]!.byteOffset, chunks[i]!.length))) {
          i++;
          wire.once('drain', pump);
          return;
        }
        i++;
      }
      resolve();
    };
    pump();
  });
  await new Promise((r) => setTimeout(r, 10));
  wire.destroy();
  return pieces;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const chunks = stream();
const want = (MB * 1024 * 1024) / 16384;
const ourRates: number[] = [];
const refRates: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  let t = performance.now();
  const a = ours(chunks);
  ourRates.push(MB / ((performance.now() - t) / 1000));
  t = performance.now();
  const b = await reference(chunks);
  refRates.push(MB / ((performance.now() - t) / 1000));
  if (a !== want) throw new Error(`ours decoded ${a} pieces, want ${want}`);
  if (b !== want) console.log(`reference decoded ${b} pieces of ${want}`);
}
const o = median(ourRates);
const ref = median(refRates);
console.log(
  `wire decode, ${MB} MiB of 16 KiB pieces in 64 KiB chunks, ${ROUNDS} rounds (medians, shared machine)`,
);
console.log(`  ours (WireDecoder):            ${o.toFixed(0)} MiB/s`);
console.log(`  bittorrent-protocol (WebTorrent): ${ref.toFixed(0)} MiB/s`);
console.log(`  ratio ours/reference: ${(o / ref).toFixed(2)}`);

const DEPTH = 256;
const PAIR_MB = Math.max(16, MB / 2);
const pairBlocks = (PAIR_MB * 1024 * 1024) / 16384;
const block = new Uint8Array(16384).fill(3);

async function oursPair(): Promise<number> {
  const layout = { pieceCount: pairBlocks / 16, pieceSize: () => 16 * 16384 };
  const [ta, tb] = memoryTransportPair({ highWaterMark: 4 * 1024 * 1024 });
  const mk = (t: typeof ta, id: number) =>
    new PeerConnection(t, {
      infoHash,
      peerId: new Uint8Array(20).fill(id),
      clock: systemClock,
      timers: systemTimers,
      layout,
      maxOutstandingRequests: DEPTH,
    });
  const a = mk(ta, 1);
  const b = mk(tb, 2);
  let next = 0;
  let got = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const fill = () => {
      for (; a.requestSlots > 0 && next < pairBlocks; next++)
        a.request(next >> 4, (next & 15) * 16384, 16384);
    };
    a.start(
      peerEvents({
        unchoked: fill,
        block: () => {
          if (++got === pairBlocks) resolve();
          else fill();
        },
      }),
    );
    b.start(
      peerEvents({
        handshake: (c) => c.unchoke(),
        hasPiece: () => true,
        request: (c, i, bg) => {
          c.sendPiece(i, bg, block);
        },
      }),
    );
    a.setRemoteRequestQueue(DEPTH);
  });
  const s = (performance.now() - t0) / 1000;
  a.close();
  return PAIR_MB / s;
}

async function referencePair(): Promise<number> {
  const a = new Wire();
  const b = new Wire();
  a.pipe(b).pipe(a);
  let next = 0;
  let got = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const fill = () => {
      for (; a.requests.length < DEPTH && next < pairBlocks; next++) {
        a.request(next >> 4, (next & 15) * 16384, 16384, (err: Error | null) => {
          if (err) return;
          if (++got === pairBlocks) resolve();
          else fill();
        });
      }
    };
    a.on('unchoke', fill);
    b.on('request', (_i: number, _o: number, _l: number, cb: (err: Error | null, data: Uint8Array) => void) =>
      cb(null, block),
    );
    b.on('handshake', () => {
      b.handshake(infoHash, new Uint8Array(20).fill(2));
      b.unchoke();
    });
    a.handshake(infoHash, new Uint8Array(20).fill(1));
  });
  const s = (performance.now() - t0) / 1000;
  a.destroy();
  b.destroy();
  return PAIR_MB / s;
}

const oursP: number[] = [];
const refP: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  oursP.push(await oursPair());
  refP.push(await referencePair());
}
const op = median(oursP);
const rp = median(refP);
console.log(
  `two peers in memory, ${PAIR_MB} MiB of 16 KiB blocks, ${DEPTH} deep, ${ROUNDS} rounds (medians)`,
);
console.log(`  ours (PeerConnection pair):    ${op.toFixed(0)} MiB/s`);
console.log(`  bittorrent-protocol Wire pair: ${rp.toFixed(0)} MiB/s`);
console.log(`  ratio ours/reference: ${(op / rp).toFixed(2)}`);

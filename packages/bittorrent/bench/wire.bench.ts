/**
 * Peer wire decoding throughput: ours (`WireDecoder`) vs WebTorrent's `bittorrent-protocol`
 * on the same stream of piece messages cut into 64 KiB chunks (what a TCP socket delivers).
 * Side by side in one process, alternating, WIRE_BENCH_ROUNDS rounds (default 5); prints
 * medians and the ratio. Size with WIRE_BENCH_MB (default 256). The machine is shared:
 * quote medians only.
 */
// @ts-expect-error bittorrent-protocol ships no types; it is only the reference here.
import Wire from 'bittorrent-protocol';
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

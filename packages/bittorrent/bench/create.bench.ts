/**
 * Torrent creation speed: ours (`createTorrent`, worker threads on every core) against
 * `mktorrent -t 2` on the same file, alternating, 3 rounds; prints GiB/s, medians and the
 * ratio. Size: SWARMCAST_BENCH_CREATE_BYTES (default 1 GiB), generated once in a temp dir.
 * The first round also warms the page cache for both, so both read from memory.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTorrent } from '../src/node/index.ts';

const bytes = Number(process.env.SWARMCAST_BENCH_CREATE_BYTES ?? 2 ** 30);
const rounds = Number(process.env.SWARMCAST_BENCH_ROUNDS ?? 3);
const pieceLength = 262144; // mktorrent's default (-l 18)
const GiB = 2 ** 30;

async function writeRandomFile(path: string, size: number): Promise<void> {
  const out = createWriteStream(path);
  const block = new Uint8Array(4 * 1024 * 1024);
  let seed = 12345;
  for (let i = 0; i < block.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    block[i] = seed >>> 24;
  }
  for (let written = 0; written < size; ) {
    const n = Math.min(block.length, size - written);
    block[0] = written & 255; // so no two blocks are the same
    if (!out.write(block.slice(0, n))) await new Promise((r) => out.once('drain', r));
    written += n;
  }
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = await mkdtemp(join(tmpdir(), 'swarmcast-bench-create-'));
try {
  const file = join(dir, 'payload.bin');
  await writeRandomFile(file, bytes);
  console.log(
    `payload ${(bytes / GiB).toFixed(2)} GiB, piece length ${pieceLength}, ${rounds} rounds (noisy: shared machine)`,
  );
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    let t = performance.now();
    const made = await createTorrent(file, { version: 'v1', pieceLength });
    if (!made.ok) throw new Error(made.error.message);
    const oursS = (performance.now() - t) / 1000;
    t = performance.now();
    const out = join(dir, `mk-${round}.torrent`);
    const r = spawnSync('mktorrent', ['-t', '2', '-l', '18', '-o', out, file], { stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`mktorrent exited ${r.status} (${r.error?.message ?? ''})`);
    const mkS = (performance.now() - t) / 1000;
    ours.push(bytes / GiB / oursS);
    theirs.push(bytes / GiB / mkS);
    console.log(
      `round ${round}: swarmcast ${ours.at(-1)!.toFixed(2)} GiB/s   mktorrent -t 2 ${theirs.at(-1)!.toFixed(2)} GiB/s`,
    );
  }
  const m1 = median(ours);
  const m2 = median(theirs);
  console.log(
    `median: swarmcast ${m1.toFixed(2)} GiB/s, mktorrent -t 2 ${m2.toFixed(2)} GiB/s, ratio ${(m1 / m2).toFixed(2)}`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}

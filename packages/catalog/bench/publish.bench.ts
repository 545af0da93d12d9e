/**
 * Publish throughput: a large MP3 from the first byte of its upload until the node's engine
 * seeds it (HTTP upload streamed from disk, probe, move, hybrid torrent, database rows, the
 * engine's session serving the info-hash), against `sha1sum` of the same file as the floor
 * (reading and hashing it once). Size with CATALOG_BENCH_MB (default 200), runs with
 * CATALOG_BENCH_RUNS (default 3). The machine is shared: read the medians, not single runs.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { startNode } from '@swarmcast/node';
import { scratchDir } from '@swarmcast/testkit';
import { createAccount, createApiToken, createShow, demoMediaDir } from '../src/index.ts';

const mb = Number(process.env.CATALOG_BENCH_MB ?? 200);
const runs = Number(process.env.CATALOG_BENCH_RUNS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** A valid MP3 of about `mb` MiB: the demo episode's frames repeated (ID3 tag once). */
async function bigMp3(path: string): Promise<number> {
  const src = await readFile(join(demoMediaDir, 'swarm.mp3'));
  const id3 =
    src.toString('latin1', 0, 3) === 'ID3'
      ? 10 + ((src[6]! << 21) | (src[7]! << 14) | (src[8]! << 7) | src[9]!)
      : 0;
  const frames = src.subarray(id3);
  const fh = await open(path, 'w');
  await fh.write(src.subarray(0, id3));
  const block = Buffer.concat(Array.from({ length: Math.ceil((4 << 20) / frames.length) }, () => frames));
  let size = id3;
  while (size < mb * 1024 * 1024) {
    await fh.write(block);
    size += block.length;
  }
  await fh.close();
  return size;
}

const dir = await scratchDir('swarmcast-bench-');
try {
  const file = join(dir.path, 'big.mp3');
  const size = await bigMp3(file);
  const node = await startNode({
    port: 0,
    host: '127.0.0.1',
    dataDir: join(dir.path, 'node'),
    demo: false,
    maxUploadBytes: size + 1,
  });
  const a = await createAccount(node.db, {
    email: 'bench@example.org',
    name: 'Bench',
    password: 'bench-password-1',
  });
  if (!a.ok) throw new Error(a.message);
  await createShow(node.db, a.value, { slug: 'bench', title: 'Bench' });
  const token = await createApiToken(node.db, a.value.id, 'bench');
  const ours: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    execFileSync('sha1sum', [file]);
    floor.push((performance.now() - t) / 1000);
    t = performance.now();
    // Streamed from disk the way curl -T or the dashboard's XHR sends it.
    const id = await new Promise<string>((resolve, reject) => {
      const req = request(new URL('/api/uploads', node.url), {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-length': String(size) },
      });
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () =>
          res.statusCode === 201
            ? resolve((JSON.parse(text) as { id: string }).id)
            : reject(new Error(`upload failed: ${res.statusCode} ${text}`)),
        );
      });
      req.on('error', reject);
      pipeline(createReadStream(file), req).catch(reject);
    });
    const pub = await fetch(new URL('/api/shows/bench/episodes', node.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ uploadId: id, title: `Run ${i}` }),
    });
    if (pub.status !== 201) throw new Error(`publish failed: ${pub.status} ${await pub.text()}`);
    // The API answers after the engine took the torrent; check that it really is seeding it.
    const { torrent } = (await pub.json()) as { torrent: { infoHashV1: string } };
    if (!node.services.seeding?.seeded().includes(torrent.infoHashV1)) throw new Error('not seeding');
    ours.push((performance.now() - t) / 1000);
    console.log(`run ${i + 1}: publish ${ours.at(-1)!.toFixed(2)} s, sha1sum ${floor.at(-1)!.toFixed(2)} s`);
  }
  await node.close();
  const result = {
    sizeMiB: Math.round(size / 1024 / 1024),
    runs,
    publishSecondsMedian: median(ours),
    sha1sumSecondsMedian: median(floor),
    ratio: median(ours) / median(floor),
  };
  console.log(
    `publish ${result.sizeMiB} MiB upload-to-seeding: median ${result.publishSecondsMedian.toFixed(2)} s; sha1sum ${result.sha1sumSecondsMedian.toFixed(2)} s; ratio ${result.ratio.toFixed(2)}x`,
  );
  await mkdir('bench/results', { recursive: true });
  await writeFile('bench/results/catalog-publish.json', `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await dir.remove();
}

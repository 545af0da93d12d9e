import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
// the narrow entry: '@swarmcast/bittorrent/node' would load the whole engine for this command
import {
  createTorrent,
  formatMagnet,
  type HashProgress,
  type TorrentVersion,
  toHex,
} from '@swarmcast/bittorrent/create';
import { type Command, type CommandIo, exitCode, UsageError } from '../command.ts';
import { progressBars } from '../transfer-output.ts';

const usage = `swarmcast create <path> -o x.torrent [--announce URL]... [--webseed URL]...
                 [--piece-length N] [--v1|--v2|--hybrid] [--private] [--json]

Makes a .torrent of a file or a folder, hashing on every core, and prints its info-hash(es)
and magnet link. For the same input and piece length a v1 torrent hashes exactly as
mktorrent's; v2 and hybrid ones as libtorrent's.

  -o, --output FILE     where to write the .torrent (required)
  --announce URL        tracker; repeat for more (each its own tier, BEP 12)
  --webseed URL         web seed (BEP 19 url-list); repeat for more
  --piece-length N      bytes, or with K/M suffix (256K, 1M); default: automatic (libtorrent's rule)
  --v1 | --v2 | --hybrid  torrent format (default --v1, what every client reads)
  --private             private torrent (BEP 27: trackers only, no DHT or PEX)
  --name NAME           torrent name (default: the file or folder name)
  --comment TEXT        comment
  --json                print one JSON object instead of text`;

function parseSize(text: string): number {
  const m = /^(\d+)([kKmM]?)(i?[bB])?$/.exec(text);
  if (!m)
    throw new UsageError(`--piece-length must be a number of bytes like 262144, 256K or 1M, not "${text}"`);
  const unit = m[2]?.toLowerCase() === 'k' ? 1024 : m[2]?.toLowerCase() === 'm' ? 1024 * 1024 : 1;
  return Number(m[1]) * unit;
}

function checkUrl(url: string, flag: string, schemes: RegExp): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`${flag} "${url}" is not a URL`);
  }
  if (!schemes.test(u.protocol))
    throw new UsageError(`${flag} "${url}" must use ${schemes.source.replace(/[\^$()]/g, '')}`);
  return url;
}

/** Progress on a terminal: a bar; otherwise a plain line every 10%. */
function progressReporter(io: CommandIo, json: boolean): { update(p: HashProgress): void; stop(): void } {
  if (json) return { update() {}, stop() {} };
  if (io.stderr.isTTY) {
    const bar = new (progressBars().SingleBar)(
      { format: 'hashing [{bar}] {percentage}% | {value}/{total} MiB', stream: io.stderr, hideCursor: true },
      progressBars().Presets.shades_classic,
    );
    let started = false;
    return {
      update(p) {
        const mib = (n: number) => Math.round(n / 1048576);
        if (!started) {
          bar.start(mib(p.totalBytes), 0);
          started = true;
        }
        bar.update(mib(p.hashedBytes));
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  let lastTenth = -1;
  return {
    update(p) {
      const tenth = Math.floor((p.hashedBytes / p.totalBytes) * 10);
      if (tenth > lastTenth) {
        lastTenth = tenth;
        io.stderr.write(`hashing ${tenth * 10}% (${p.hashedBytes} of ${p.totalBytes} bytes)\n`);
      }
    },
    stop() {},
  };
}

const command: Command = {
  summary: 'make a .torrent (v1, v2 or hybrid) of a file or folder',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        output: { type: 'string', short: 'o' },
        announce: { type: 'string', multiple: true },
        webseed: { type: 'string', multiple: true },
        'piece-length': { type: 'string' },
        v1: { type: 'boolean' },
        v2: { type: 'boolean' },
        hybrid: { type: 'boolean' },
        private: { type: 'boolean' },
        name: { type: 'string' },
        comment: { type: 'string' },
        json: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('give exactly one file or folder');
    if (!values.output) throw new UsageError('-o/--output is required');
    const formats = (['v1', 'v2', 'hybrid'] as const).filter((v) => values[v]);
    if (formats.length > 1) throw new UsageError('choose one of --v1, --v2, --hybrid');
    const version: TorrentVersion = formats[0] ?? 'v1';
    const announce = (values.announce ?? []).map((u) => [checkUrl(u, '--announce', /^(https?|udp|wss?):$/)]);
    const webSeeds = (values.webseed ?? []).map((u) => checkUrl(u, '--webseed', /^(https?):$/));
    const pieceLength = values['piece-length'] !== undefined ? parseSize(values['piece-length']) : undefined;
    const json = values.json ?? false;
    const progress = progressReporter(io, json);
    const started = performance.now();
    const made = await createTorrent(positionals[0]!, {
      version,
      ...(pieceLength !== undefined ? { pieceLength } : {}),
      announce,
      webSeeds,
      private: values.private ?? false,
      ...(values.name !== undefined ? { name: values.name } : {}),
      ...(values.comment !== undefined ? { comment: values.comment } : {}),
      createdBy: 'swarmcast',
      creationDate: Math.floor(Date.now() / 1000),
      signal: io.signal,
      onProgress: (p) => progress.update(p),
    });
    progress.stop();
    if (!made.ok) {
      io.stderr.write(`swarmcast create: ${made.error.message} (${made.error.code})\n`);
      const usageLike =
        made.error.code === 'BT_CREATE_BAD_PIECE_LENGTH' || made.error.code === 'BT_CREATE_BAD_NAME';
      return usageLike ? exitCode.usage : exitCode.failure;
    }
    const output = resolve(values.output);
    try {
      await writeFile(output, made.value.torrent);
    } catch (err) {
      io.stderr.write(`swarmcast create: cannot write ${output}: ${(err as Error).message}\n`);
      return exitCode.failure;
    }
    const { plan, infoHash } = made.value;
    const magnet = formatMagnet({
      infoHash,
      name: plan.name,
      trackers: announce.map((t) => t[0]!),
      webSeeds,
      peers: [],
    });
    const seconds = (performance.now() - started) / 1000;
    const result = {
      output,
      name: plan.name,
      version,
      infoHashV1: infoHash.v1 ? toHex(infoHash.v1) : null,
      infoHashV2: infoHash.v2 ? toHex(infoHash.v2) : null,
      magnet,
      pieceLength: plan.pieceLength,
      pieces: plan.pieceCount,
      bytes: plan.files.filter((f) => !f.pad).reduce((n, f) => n + f.length, 0),
      files: plan.files.filter((f) => !f.pad).length,
      seconds: Math.round(seconds * 1000) / 1000,
    };
    if (json) io.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      const lines = [
        `wrote ${output} (${version}, ${result.files} files, ${result.bytes} bytes, ${plan.pieceCount} pieces of ${plan.pieceLength})`,
      ];
      if (result.infoHashV1) lines.push(`info-hash v1: ${result.infoHashV1}`);
      if (result.infoHashV2) lines.push(`info-hash v2: ${result.infoHashV2}`);
      lines.push(`magnet: ${magnet}`);
      io.stdout.write(`${lines.join('\n')}\n`);
    }
    return exitCode.ok;
  },
};
export default command;

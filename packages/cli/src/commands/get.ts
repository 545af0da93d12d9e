import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { downloadTorrent, type TorrentHandle } from '@swarmcast/bittorrent/node';
import { type Command, exitCode, UsageError } from '../command.ts';
import { parsePeer, transferOutput } from '../transfer-output.ts';

const usage = `swarmcast get <file.torrent|http url> -o <dir> [--seed] [--peer HOST:PORT]... [--port N]
              [--files 0,2,...] [--timeout SECONDS] [--json]

Downloads a torrent into <dir>. Every piece is verified (SHA-1 / v2 merkle) before it is written;
a restart resumes from what is already on disk. Exits 0 only when every selected piece is
verified on disk.

  -o, --output DIR     download folder (required)
  --seed               keep seeding after the download, until interrupted
  --peer HOST:PORT     a peer to connect to; repeat for more
  --port N             TCP port to accept peers on (default: any free port)
  --files LIST         only these file indices (comma separated, as listed by the torrent)
  --timeout SECONDS    give up (exit 1) if not complete by then
  --json               JSON lines on stdout instead of text

Exit codes: 0 complete, 1 failed (bad torrent, I/O error, timeout), 2 bad command line.
Not yet: magnet links (metadata exchange), trackers/DHT discovery, --stream (see notes).`;

const command: Command = {
  summary: 'download a torrent (verified, resumable)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o' },
        seed: { type: 'boolean', default: false },
        peer: { type: 'string', multiple: true, default: [] },
        port: { type: 'string' },
        files: { type: 'string' },
        timeout: { type: 'string' },
        json: { type: 'boolean', default: false },
        stream: { type: 'string' },
      },
    });
    const source = positionals[0];
    if (!source || positionals.length > 1)
      throw new UsageError('give exactly one torrent (file or http URL)');
    if (!values.output) throw new UsageError('-o <dir> is required');
    if (values.stream !== undefined) throw new UsageError('--stream is not implemented yet');
    if (source.startsWith('magnet:')) {
      io.stderr.write(
        'swarmcast get: magnet links are not supported yet (metadata exchange pending); use a .torrent\n',
      );
      return exitCode.failure;
    }
    const peers = values.peer.map((p) => {
      const a = parsePeer(p);
      if (!a) throw new UsageError(`--peer "${p}" is not HOST:PORT`);
      return a;
    });
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) {
      throw new UsageError('--port must be 0..65535');
    }
    const files = values.files?.split(',').map((x) => {
      const n = Number(x);
      if (!Number.isInteger(n) || n < 0) throw new UsageError(`--files: "${x}" is not a file index`);
      return n;
    });
    const timeoutS = values.timeout === undefined ? undefined : Number(values.timeout);
    if (timeoutS !== undefined && !(timeoutS > 0))
      throw new UsageError('--timeout must be a positive number of seconds');

    let torrent: Uint8Array;
    try {
      torrent = await fetchTorrent(source, io.signal);
    } catch (err) {
      io.stderr.write(`swarmcast get: cannot read ${source}: ${(err as Error).message}\n`);
      return exitCode.failure;
    }
    let handle: TorrentHandle;
    try {
      handle = await downloadTorrent({
        torrent,
        dir: resolve(values.output),
        peers,
        ...(port !== undefined ? { port } : {}),
        ...(files ? { files } : {}),
      });
    } catch (err) {
      const code = (err as { code?: string }).code;
      io.stderr.write(`swarmcast get: ${code ? `${code}: ` : ''}${(err as Error).message}\n`);
      return exitCode.failure;
    }
    const out = transferOutput(io, values.json, handle.session.layout.totalLength);
    const started = Date.now();
    out.event(
      'started',
      { infoHash: handle.infoHash, name: handle.meta.name, port: handle.port },
      `${handle.meta.name}: info-hash ${handle.infoHash}, listening on port ${handle.port}`,
    );
    handle.session.on('peerBanned', (key, reason) =>
      out.event('banned', { peer: key, code: reason.code }, `banned ${key}: ${reason.message}`),
    );
    handle.session.on('warning', (e) =>
      out.event('warning', { code: e.code, message: e.message }, `warning: ${e.message}`),
    );
    const ticker = setInterval(() => out.progress(handle.stats()), 500);
    const result = await new Promise<'done' | 'timeout' | 'aborted'>((res) => {
      if (handle.session.isDone) res('done');
      handle.session.on('done', () => res('done'));
      io.signal.addEventListener('abort', () => res('aborted'), { once: true });
      if (timeoutS !== undefined) setTimeout(() => res('timeout'), timeoutS * 1000).unref();
    });
    clearInterval(ticker);
    const s = handle.stats();
    out.progress(s);
    const seconds = (Date.now() - started) / 1000;
    if (result !== 'done') {
      out.stop();
      await handle.close();
      io.stderr.write(
        `swarmcast get: ${result === 'timeout' ? 'timed out' : 'interrupted'} with ${s.pieces}/${s.wantedPieces} pieces verified\n`,
      );
      return exitCode.failure;
    }
    out.event(
      'done',
      { infoHash: handle.infoHash, bytes: s.verifiedBytes, downloaded: s.downloaded, seconds },
      `done: ${s.pieces}/${s.wantedPieces} pieces verified, ${(s.downloaded / 1048576).toFixed(1)} MiB downloaded in ${seconds.toFixed(1)} s`,
    );
    if (values.seed) {
      out.event('seeding', { port: handle.port }, `seeding on port ${handle.port}; Ctrl-C to stop`);
      await new Promise<void>((r) => {
        if (io.signal.aborted) r();
        io.signal.addEventListener('abort', () => r(), { once: true });
      });
    }
    out.stop();
    await handle.close();
    return exitCode.ok;
  },
};

async function fetchTorrent(source: string, signal: AbortSignal): Promise<Uint8Array> {
  if (/^https?:\/\//.test(source)) {
    const res = await fetch(source, { signal });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }
  return new Uint8Array(await readFile(source));
}

export default command;

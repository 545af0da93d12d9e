import { parseArgs } from 'node:util';
import { seedTorrent, type TorrentHandle } from '@swarmcast/bittorrent/node';
import { type Command, exitCode, UsageError } from '../command.ts';
import { parseEncryption, parsePeer, parseTransports, transferOutput } from '../transfer-output.ts';

const usage = `swarmcast seed <file.torrent> <data path> [--port N] [--peer HOST:PORT]... [--json]
              [--encryption prefer|require|off] [--utp|--utp-only] [--lsd] [--host ADDR]

Verifies the data against the torrent, then serves it to peers until interrupted. <data path>
is the file (single-file torrent) or the torrent's folder, or the folder holding either.

  --port N           TCP port to accept peers on (default: any free port)
  --peer HOST:PORT   a peer to connect to (for clients that never dial us); repeat for more
  --json             JSON lines on stdout instead of text
  --encryption MODE  protocol encryption (MSE/PE): prefer (default), require (RC4 only), off
  --utp              also accept uTP (BEP 29, UDP, same port number) and dial it first
  --utp-only         uTP alone: no TCP listener, no TCP dial
  --lsd              Local Service Discovery (BEP 14): announce on the LAN by multicast
  --host ADDR        address to accept peers on (default: every address)

Exit codes: 0 stopped cleanly, 1 bad torrent or data missing/incomplete, 2 bad command line.`;

const command: Command = {
  summary: 'seed a torrent from data on disk',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        port: { type: 'string' },
        peer: { type: 'string', multiple: true, default: [] },
        json: { type: 'boolean', default: false },
        encryption: { type: 'string' },
        utp: { type: 'boolean', default: false },
        'utp-only': { type: 'boolean', default: false },
        lsd: { type: 'boolean', default: false },
        host: { type: 'string' },
      },
    });
    const encryption = parseEncryption(values.encryption);
    const transports = parseTransports(values.utp, values['utp-only']);
    const [torrent, dataPath] = positionals;
    if (!torrent || !dataPath || positionals.length > 2)
      throw new UsageError('give <file.torrent> <data path>');
    const peers = values.peer.map((p) => {
      const a = parsePeer(p);
      if (!a) throw new UsageError(`--peer "${p}" is not HOST:PORT`);
      return a;
    });
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) {
      throw new UsageError('--port must be 0..65535');
    }
    let handle: TorrentHandle;
    try {
      handle = await seedTorrent({
        torrent,
        dataPath,
        peers,
        ...(port !== undefined ? { port } : {}),
        ...(encryption ? { encryption } : {}),
        ...(transports ? { transports } : {}),
        ...(values.lsd ? { lsd: true } : {}),
        ...(values.host ? { host: values.host } : {}),
      });
    } catch (err) {
      const code = (err as { code?: string }).code;
      io.stderr.write(`swarmcast seed: ${code ? `${code}: ` : ''}${(err as Error).message}\n`);
      return exitCode.failure;
    }
    const out = transferOutput(io, values.json, handle.session.layout.totalLength);
    const s = handle.stats();
    if (!handle.session.isDone) {
      await handle.close();
      io.stderr.write(
        `swarmcast seed: the data matches ${s.pieces} of ${s.wantedPieces} pieces; is ${dataPath} the right data?\n`,
      );
      return exitCode.failure;
    }
    out.event(
      'seeding',
      { infoHash: handle.infoHash, name: handle.meta.name, port: handle.port },
      `seeding ${handle.meta.name} (info-hash ${handle.infoHash}) on port ${handle.port}; Ctrl-C to stop`,
    );
    await new Promise<void>((r) => {
      if (io.signal.aborted) r();
      io.signal.addEventListener('abort', () => r(), { once: true });
    });
    const end = handle.stats();
    out.event(
      'stopped',
      { uploaded: end.uploaded },
      `stopped after uploading ${(end.uploaded / 1048576).toFixed(1)} MiB`,
    );
    await handle.close();
    return exitCode.ok;
  },
};

export default command;

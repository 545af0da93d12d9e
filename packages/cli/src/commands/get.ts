import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  DhtNode,
  downloadTorrent,
  PUBLIC_DHT_BOOTSTRAP,
  type StreamServer,
  startStreamServer,
  type TorrentHandle,
} from '@swarmcast/bittorrent/node';
import { type Command, exitCode, UsageError } from '../command.ts';
import { parseEncryption, parsePeer, parseTransports, transferOutput } from '../transfer-output.ts';

const usage = `swarmcast get <magnet|file.torrent|http(s) url> -o <dir> [--seed] [--stream PORT]
              [--peer HOST:PORT]... [--dht HOST:PORT|public]... [--no-webseeds]
              [--port N] [--host ADDR] [--files 0,2,...] [--timeout SECONDS] [--json]
              [--encryption prefer|require|off] [--utp|--utp-only] [--lsd]
              [--no-port-mapping] [--port-mapping pcp|natpmp|upnp]

Downloads a torrent into <dir>. Every piece is verified (SHA-1 / v2 merkle) before it is written;
a restart resumes from what is already on disk. Exits 0 only when every selected piece is
verified on disk.

Peers come from the torrent's trackers (HTTP and UDP: a .torrent's announce-list, a magnet's
tr=), its web seeds (url-list, ws=), peer exchange, the DHT when --dht is given, and --peer.
With --lsd, neighbours on the LAN in the same torrent are found by multicast (BEP 14). A bare magnet link works: the torrent's metadata is fetched from peers first (BEP 9) and
checked against the link's btih/btmh.

  -o, --output DIR     download folder (required)
  --seed               keep seeding after the download, until interrupted
  --stream PORT        serve the files on http://127.0.0.1:PORT/ while downloading (Range
                       requests; pieces under a request are fetched first and sent once
                       verified). GET / lists the files as JSON. Keeps serving after the
                       download until interrupted. PORT 0 picks a free port.
  --peer HOST:PORT     a peer to connect to; repeat for more
  --dht HOST:PORT      join the DHT through this bootstrap node ("public" for the public
                       routers); repeat for more. Default: no DHT.
  --no-webseeds        do not download from the torrent's web seeds
  --port N             TCP port to accept peers on (default: any free port)
  --host ADDR          address to accept peers on (default: every address)
  --files LIST         only these file indices (comma separated, as listed by the torrent)
  --timeout SECONDS    give up (exit 1) if not complete by then (metadata fetch included)
  --json               JSON lines on stdout instead of text
  --encryption MODE    protocol encryption (MSE/PE) with TCP peers: prefer (default: accept
                       both, dial encrypted first), require (RC4 only, both ways), off
  --utp                also accept uTP (BEP 29, UDP, on the same port number) and dial it
                       first, TCP when a peer does not answer it
  --utp-only           uTP alone: no TCP listener, no TCP dial
  --no-port-mapping    with --seed, do not ask the home router (PCP, NAT-PMP, UPnP) to
                       forward our port; by default --seed asks, so peers outside can dial us
  --port-mapping WAY   ask only by pcp (PCP, RFC 6887), natpmp (NAT-PMP, RFC 6886) or upnp
                       (UPnP IGD); default PCP, then NAT-PMP, then UPnP
  --lsd                Local Service Discovery (BEP 14): announce to and find peers on the
                       LAN by multicast (239.192.152.143:6771), with no tracker

Exit codes: 0 complete, 1 failed (bad torrent or magnet, no metadata, I/O error, timeout),
2 bad command line.`;

const command: Command = {
  summary: 'download a torrent or magnet link (verified, resumable, streamable)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o' },
        seed: { type: 'boolean', default: false },
        peer: { type: 'string', multiple: true, default: [] },
        dht: { type: 'string', multiple: true, default: [] },
        'no-webseeds': { type: 'boolean', default: false },
        port: { type: 'string' },
        host: { type: 'string' },
        files: { type: 'string' },
        timeout: { type: 'string' },
        json: { type: 'boolean', default: false },
        encryption: { type: 'string' },
        stream: { type: 'string' },
        utp: { type: 'boolean', default: false },
        'utp-only': { type: 'boolean', default: false },
        lsd: { type: 'boolean', default: false },
        'no-port-mapping': { type: 'boolean', default: false },
        'port-mapping': { type: 'string' },
      },
    });
    const encryption = parseEncryption(values.encryption);
    const transports = parseTransports(values.utp, values['utp-only']);
    const way = values['port-mapping'];
    if (way !== undefined && way !== 'pcp' && way !== 'natpmp' && way !== 'upnp')
      throw new UsageError(`--port-mapping must be pcp, natpmp or upnp (got "${way}")`);
    const source = positionals[0];
    if (!source || positionals.length > 1)
      throw new UsageError('give exactly one torrent (magnet link, file or http URL)');
    if (!values.output) throw new UsageError('-o <dir> is required');
    const peers = values.peer.map((p) => {
      const a = parsePeer(p);
      if (!a) throw new UsageError(`--peer "${p}" is not HOST:PORT`);
      return a;
    });
    const port = portOption(values.port, '--port');
    const streamPort = portOption(values.stream, '--stream');
    const bootstrap = values.dht.flatMap((d) => {
      if (d === 'public') return [...PUBLIC_DHT_BOOTSTRAP];
      if (!parsePeer(d)) throw new UsageError(`--dht "${d}" is not HOST:PORT or "public"`);
      return [d];
    });
    const files = values.files?.split(',').map((x) => {
      const n = Number(x);
      if (!Number.isInteger(n) || n < 0) throw new UsageError(`--files: "${x}" is not a file index`);
      return n;
    });
    const timeoutS = values.timeout === undefined ? undefined : Number(values.timeout);
    if (timeoutS !== undefined && !(timeoutS > 0))
      throw new UsageError('--timeout must be a positive number of seconds');

    const deadline = new AbortController();
    const timer =
      timeoutS === undefined
        ? undefined
        : setTimeout(() => deadline.abort(new Error('timeout')), timeoutS * 1000);
    timer?.unref();
    const stopSignal = AbortSignal.any([io.signal, deadline.signal]);
    // Before the session exists there is no size for a progress bar: plain events only.
    const out0 = {
      event: (kind: string, fields: Record<string, unknown>, text: string) =>
        io.stdout.write(values.json ? `${JSON.stringify({ event: kind, ...fields })}\n` : `${text}\n`),
    };

    let torrent: Uint8Array | string;
    try {
      torrent = source.startsWith('magnet:') ? source : await fetchTorrent(source, stopSignal);
    } catch (err) {
      clearTimeout(timer);
      io.stderr.write(`swarmcast get: cannot read ${source}: ${(err as Error).message}\n`);
      return exitCode.failure;
    }
    let dht: DhtNode | undefined;
    if (bootstrap.length > 0) {
      const r = await DhtNode.start({ bootstrap, host: values.host ?? '0.0.0.0', port: 0 });
      if (!r.ok) {
        clearTimeout(timer);
        io.stderr.write(`swarmcast get: ${r.error.code}: ${r.error.message}\n`);
        return exitCode.failure;
      }
      dht = r.value;
    }
    const closeDht = async () => {
      await dht?.close();
    };
    if (source.startsWith('magnet:'))
      out0.event('metadata', { source }, 'fetching the torrent metadata from peers (magnet link)');
    let handle: TorrentHandle;
    try {
      handle = await downloadTorrent({
        torrent,
        dir: resolve(values.output),
        peers,
        signal: stopSignal,
        ...(port !== undefined ? { port } : {}),
        ...(values.host ? { host: values.host } : {}),
        ...(files ? { files } : {}),
        ...(dht ? { dht } : {}),
        ...(values['no-webseeds'] ? { webSeeds: false } : {}),
        ...(encryption ? { encryption } : {}),
        ...(transports ? { transports } : {}),
        ...(values.lsd ? { lsd: true } : {}),
        ...(values.seed && !values['no-port-mapping']
          ? { portMapping: way ? { methods: [way] as ('pcp' | 'natpmp' | 'upnp')[] } : true }
          : {}),
        onWarning: (e) =>
          out0.event('warning', { code: e.code, message: e.message }, `warning: ${e.message}`),
      });
    } catch (err) {
      clearTimeout(timer);
      await closeDht();
      const code = (err as { code?: string }).code;
      const why = deadline.signal.aborted ? 'timed out: ' : io.signal.aborted ? 'interrupted: ' : '';
      io.stderr.write(`swarmcast get: ${why}${code ? `${code}: ` : ''}${(err as Error).message}\n`);
      return exitCode.failure;
    }
    const out = transferOutput(io, values.json, handle.session.layout.totalLength);
    const started = Date.now();
    out.event(
      'started',
      { infoHash: handle.infoHash, name: handle.meta.name, port: handle.port },
      `${handle.meta.name}: info-hash ${handle.infoHash}, listening on port ${handle.port}`,
    );
    const mapper = handle.node.portMapper;
    mapper?.ready.then(() => {
      for (const m of mapper.mappings)
        out.event(
          'mapped',
          {
            protocol: m.protocol,
            port: m.internalPort,
            host: m.externalAddress,
            externalPort: m.externalPort,
            method: m.method,
          },
          `the router forwards ${m.protocol} ${m.externalAddress}:${m.externalPort} to port ${m.internalPort} (${m.method === 'upnp' ? 'UPnP' : 'NAT-PMP'})`,
        );
      for (const e of mapper.errors)
        out.event('warning', { code: 'PORT_MAPPING', message: e }, `warning: no port mapping: ${e}`);
    });
    let stream: StreamServer | undefined;
    if (streamPort !== undefined) {
      try {
        stream = await startStreamServer(handle.session, {
          port: streamPort,
          ...(files ? { files } : {}),
        });
      } catch (err) {
        clearTimeout(timer);
        await handle.close();
        await closeDht();
        io.stderr.write(
          `swarmcast get: cannot serve --stream on port ${streamPort}: ${(err as Error).message}\n`,
        );
        return exitCode.failure;
      }
      out.event(
        'streaming',
        { url: stream.url, files: stream.files },
        [`streaming on ${stream.url}`, ...stream.files.map((f) => `  ${f.url}`)].join('\n'),
      );
    }
    handle.session.on('peerBanned', (key, reason) =>
      out.event('banned', { peer: key, code: reason.code }, `banned ${key}: ${reason.message}`),
    );
    handle.session.on('holepunch', (kind, address, other) =>
      out.event(
        'holepunch',
        { kind, address, ...(other ? { other } : {}) },
        kind === 'relayed'
          ? `hole punching: introduced ${address} to ${other}`
          : kind === 'connect'
            ? `hole punching: dialling ${address} at the same time as it dials us`
            : `hole punching: the relay could not reach ${address} (error ${other})`,
      ),
    );
    handle.session.on('warning', (e) =>
      out.event('warning', { code: e.code, message: e.message }, `warning: ${e.message}`),
    );
    const ticker = setInterval(() => out.progress(handle.stats()), 500);
    const result = await new Promise<'done' | 'timeout' | 'aborted'>((res) => {
      if (handle.session.isDone) res('done');
      handle.session.on('done', () => res('done'));
      stopSignal.addEventListener('abort', () => res(deadline.signal.aborted ? 'timeout' : 'aborted'), {
        once: true,
      });
    });
    clearInterval(ticker);
    clearTimeout(timer);
    const s = handle.stats();
    out.progress(s);
    const seconds = (Date.now() - started) / 1000;
    const finish = async () => {
      out.stop();
      await stream?.close();
      await handle.close();
      await closeDht();
    };
    if (result !== 'done') {
      await finish();
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
    if (values.seed || stream) {
      const what = [
        values.seed ? `seeding on port ${handle.port}` : '',
        stream ? `serving ${stream.url}` : '',
      ]
        .filter(Boolean)
        .join(', ');
      out.event(
        'seeding',
        { port: handle.port, ...(stream ? { url: stream.url } : {}) },
        `${what}; Ctrl-C to stop`,
      );
      await new Promise<void>((r) => {
        if (io.signal.aborted) r();
        io.signal.addEventListener('abort', () => r(), { once: true });
      });
    }
    await finish();
    return exitCode.ok;
  },
};

function portOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= 0 && n < 65536)) throw new UsageError(`${name} must be 0..65535`);
  return n;
}

/** A .torrent from a file or an http(s) URL (bounded: a torrent is never tens of MiB). */
async function fetchTorrent(source: string, signal: AbortSignal): Promise<Uint8Array> {
  const max = 32 * 1024 * 1024;
  if (/^https?:\/\//i.test(source)) {
    const res = await fetch(source, { signal });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const length = Number(res.headers.get('content-length') ?? 0);
    if (length > max) throw new Error(`the torrent is ${length} bytes, more than ${max}`);
    const parts: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of res.body ?? []) {
      total += chunk.length;
      if (total > max) throw new Error(`the torrent is more than ${max} bytes`);
      parts.push(chunk);
    }
    return new Uint8Array(Buffer.concat(parts));
  }
  return new Uint8Array(await readFile(source));
}

export default command;

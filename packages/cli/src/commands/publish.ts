import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { parseTime } from '@swarmcast/node';
import { type Command, exitCode, UsageError } from '../command.ts';
import { progressBars } from '../transfer-output.ts';

const usage = `swarmcast publish <file> --show <slug> --title <text> [options]

Uploads a media file to a running node and publishes it as an episode: probed, put on
BitTorrent (hybrid torrent, the node's trackers, its origin as web seed) and in the feed.

  --show SLUG        the show (yours) to publish in
  --title TEXT       the episode title
  --description TEXT
  --pre              a pre-roll ad break
  --mid TIME         a mid-roll at TIME (90, 1:30, 1:02:03); repeatable
  --chapter N        a mid-roll at the start of chapter N (0-based); repeatable
  --post             a post-roll ad break
  --node URL         the node (default $SWARMCAST_NODE or http://127.0.0.1:$PORT|8080)
  --token TOKEN      API token from the dashboard (default $SWARMCAST_TOKEN)
  --json             print the episode as JSON`;

interface ApiError {
  error?: { code?: string; message?: string };
}

const command: Command = {
  summary: 'publish a media file as an episode of your show',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        show: { type: 'string' },
        title: { type: 'string' },
        description: { type: 'string', default: '' },
        pre: { type: 'boolean', default: false },
        mid: { type: 'string', multiple: true, default: [] },
        chapter: { type: 'string', multiple: true, default: [] },
        post: { type: 'boolean', default: false },
        node: { type: 'string' },
        token: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    });
    const file = positionals[0];
    if (!file || positionals.length > 1) throw new UsageError('give exactly one media file');
    if (!values.show) throw new UsageError('--show is required');
    if (!values.title) throw new UsageError('--title is required');
    const token = values.token ?? io.env.SWARMCAST_TOKEN;
    if (!token) throw new UsageError('--token (or SWARMCAST_TOKEN) is required: create one on the dashboard');
    const node = (
      values.node ??
      io.env.SWARMCAST_NODE ??
      `http://127.0.0.1:${io.env.PORT ?? '8080'}`
    ).replace(/\/+$/, '');
    const adBreaks: unknown[] = [];
    if (values.pre) adBreaks.push({ position: 'pre' });
    for (const t of values.mid) {
      const ms = parseTime(t);
      if (ms === null) throw new UsageError(`--mid ${t}: write 90, 1:30 or 1:02:03`);
      adBreaks.push({ position: 'mid', atMs: ms });
    }
    for (const c of values.chapter) {
      if (!/^\d+$/.test(c)) throw new UsageError(`--chapter ${c}: a chapter number`);
      adBreaks.push({ position: 'mid', chapter: Number(c) });
    }
    if (values.post) adBreaks.push({ position: 'post' });

    let size: number;
    try {
      const s = await stat(file);
      if (!s.isFile()) throw new UsageError(`${file} is not a file`);
      size = s.size;
    } catch (err) {
      if (err instanceof UsageError) throw err;
      io.stderr.write(`swarmcast publish: cannot read ${file}: ${(err as Error).message}\n`);
      return exitCode.failure;
    }
    const auth = { authorization: `Bearer ${token}` };
    const bar =
      io.stderr.isTTY && !values.json
        ? new (progressBars().SingleBar)(
            { format: 'upload [{bar}] {percentage}% {value}/{total} bytes', stream: io.stderr },
            progressBars().Presets.shades_classic,
          )
        : null;
    bar?.start(size, 0);
    let sent = 0;
    const source = createReadStream(file);
    source.on('data', (chunk) => {
      sent += chunk.length;
      bar?.update(sent);
    });
    let upload: Response;
    try {
      upload = await fetch(`${node}/api/uploads`, {
        method: 'POST',
        headers: {
          ...auth,
          'content-type': 'application/octet-stream',
          'content-length': String(size),
          'x-file-name': encodeURIComponent(basename(file)),
        },
        body: Readable.toWeb(source) as ReadableStream,
        duplex: 'half',
        signal: io.signal,
      } as RequestInit);
    } catch (err) {
      bar?.stop();
      io.stderr.write(`swarmcast publish: cannot reach ${node}: ${(err as Error).message}\n`);
      return exitCode.failure;
    }
    bar?.stop();
    const up = (await upload.json().catch(() => ({}))) as ApiError & {
      id?: string;
      probe?: { durationMs: number; codecs: string[] };
    };
    if (upload.status !== 201 || !up.id) {
      io.stderr.write(
        `swarmcast publish: upload refused (${upload.status} ${up.error?.code ?? ''}): ${up.error?.message ?? 'no reason given'}\n`,
      );
      return exitCode.failure;
    }
    if (!values.json)
      io.stderr.write(
        `uploaded ${size} bytes; ${Math.round((up.probe?.durationMs ?? 0) / 1000)} s of ${up.probe?.codecs.join(', ')}\n`,
      );
    const pub = await fetch(`${node}/api/shows/${encodeURIComponent(values.show)}/episodes`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        uploadId: up.id,
        title: values.title,
        description: values.description,
        adBreaks,
      }),
      signal: io.signal,
    });
    const ep = (await pub.json().catch(() => ({}))) as ApiError & {
      id?: string;
      torrent?: { magnet: string } | null;
    };
    if (pub.status !== 201 || !ep.id) {
      io.stderr.write(
        `swarmcast publish: publishing refused (${pub.status} ${ep.error?.code ?? ''}): ${ep.error?.message ?? 'no reason given'}\n`,
      );
      return exitCode.failure;
    }
    if (values.json) io.stdout.write(`${JSON.stringify(ep)}\n`);
    else {
      io.stdout.write(`published: ${node}/episodes/${ep.id}\n`);
      if (ep.torrent)
        io.stdout.write(`torrent:   ${node}/episodes/${ep.id}.torrent\nmagnet:    ${ep.torrent.magnet}\n`);
    }
    return exitCode.ok;
  },
};
export default command;

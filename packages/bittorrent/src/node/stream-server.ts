import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readVerifiedRange } from '../session/range-reader.ts';
import type { TorrentSession } from '../session/torrent-session.ts';
import { systemClock } from '../timers.ts';

export interface StreamServerOptions {
  /** TCP port (0: any free port). */
  readonly port: number;
  /** Address to listen on (default 127.0.0.1: the files are for local players only). */
  readonly host?: string;
  /** Indices of the files to serve (`layout.files`, as `--files` counts them); default every file. */
  readonly files?: readonly number[];
  /** Pieces read ahead of the one a client is reading (default 8). */
  readonly readahead?: number;
}

export interface StreamServer {
  readonly port: number;
  readonly url: string;
  /** The served files and their URLs. */
  readonly files: readonly StreamedFile[];
  close(): Promise<void>;
}

export interface StreamedFile {
  readonly index: number;
  /** Path inside the torrent, "/"-joined (the torrent's folder first for a multi-file torrent). */
  readonly path: string;
  readonly length: number;
  readonly url: string;
}

/** A satisfiable single byte range of a `Range` header, `'unsatisfiable'`, or undefined when absent or not understood (serve the whole file). */
export function parseByteRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(\d{0,16})\s*-\s*(\d{0,16})\s*$/i.exec(header);
  // Several ranges, other units or garbage: RFC 9110 lets a server ignore Range.
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

const TYPES: Record<string, string> = {
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  ogg: 'audio/ogg',
  opus: 'audio/ogg',
  oga: 'audio/ogg',
  flac: 'audio/flac',
  wav: 'audio/wav',
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  webm: 'video/webm',
  mkv: 'video/x-matroska',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  json: 'application/json',
  txt: 'text/plain; charset=utf-8',
  srt: 'text/plain; charset=utf-8',
  vtt: 'text/vtt',
};

function contentType(path: string): string {
  const ext = /\.([a-z0-9]{1,8})$/i.exec(path)?.[1]?.toLowerCase();
  return (ext && TYPES[ext]) || 'application/octet-stream';
}

/**
 * Serves a downloading torrent's files over HTTP with Range requests, for a media player that
 * should start before the download ends (`swarmcast get --stream`). A request waits for the
 * pieces it covers, which get streaming deadlines so the session fetches them first; no byte
 * leaves before its piece is verified. `GET /` lists the files as JSON; a file is at
 * `/files/<index>/<path>`. Only GET and HEAD; nothing outside the selected files.
 */
export async function startStreamServer(
  session: TorrentSession,
  o: StreamServerOptions,
): Promise<StreamServer> {
  const layout = session.layout;
  const selected = new Set(o.files ?? layout.files.map((_, i) => i));
  const host = o.host ?? '127.0.0.1';
  let base = '';
  const listing = (): StreamedFile[] =>
    layout.files.flatMap((f, index) =>
      f.pad || !selected.has(index)
        ? []
        : [
            {
              index,
              path: f.path.join('/'),
              length: f.length,
              url: `${base}/files/${index}/${f.path.map(encodeURIComponent).join('/')}`,
            },
          ],
    );
  const open = new Set<AbortController>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const path = (req.url ?? '/').split('?')[0] as string;
    if (path === '/') {
      const body = JSON.stringify({ files: listing() });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const m = /^\/files\/(\d{1,9})(?:\/.*)?$/.exec(path);
    const index = m ? Number(m[1]) : -1;
    const file = layout.files[index];
    if (!file || file.pad || !selected.has(index)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no such file\n');
      return;
    }
    const range = parseByteRange(req.headers.range, file.length);
    if (range === 'unsatisfiable') {
      res.writeHead(416, { 'content-range': `bytes */${file.length}` }).end();
      return;
    }
    const start = range?.start ?? 0;
    const end = range ? range.end + 1 : file.length;
    const headers: Record<string, string | number> = {
      'content-type': contentType(file.path.join('/')),
      'accept-ranges': 'bytes',
      'content-length': end - start,
    };
    if (range) headers['content-range'] = `bytes ${start}-${end - 1}/${file.length}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD' || start === end) {
      res.end();
      return;
    }
    const ac = new AbortController();
    open.add(ac);
    res.on('close', () => ac.abort(new Error('client gone')));
    try {
      for await (const chunk of readVerifiedRange(session, file.offset + start, file.offset + end, {
        signal: ac.signal,
        now: () => systemClock.now(),
        ...(o.readahead !== undefined ? { readahead: o.readahead } : {}),
      })) {
        if (!res.write(chunk)) await once(res, 'drain', { signal: ac.signal });
      }
      res.end();
    } catch {
      // The client went away, or the session closed under it: the socket ends here.
      res.destroy();
    } finally {
      open.delete(ac);
    }
  };

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    port,
    url: `${base}/`,
    files: listing(),
    close: () =>
      new Promise<void>((resolve) => {
        for (const ac of open) ac.abort(new Error('server closing'));
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

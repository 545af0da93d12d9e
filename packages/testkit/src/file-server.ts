import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';

/**
 * A plain static file server on 127.0.0.1 with single byte ranges, as nginx serves a web seed.
 * `lie` answers with bytes of the right length that are not the file's; `only` limits which
 * paths exist (others 404). Counts the requests it served.
 */
export async function fileServer(
  root: string,
  o: { lie?: boolean; only?: (path: string) => boolean } = {},
): Promise<{ url: string; requests: number; close(): Promise<void> }> {
  const state = { requests: 0 };
  const server: Server = createServer((req, res) => {
    state.requests++;
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const path = join(root, rel);
    let size: number;
    try {
      if (rel.split('/').includes('..') || (o.only && !o.only(rel))) throw new Error('hidden');
      size = statSync(path).size;
    } catch {
      res.writeHead(404).end();
      return;
    }
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (!m) {
      res.writeHead(200, { 'content-length': size });
      createReadStream(path).pipe(res);
      return;
    }
    const start = Number(m[1]);
    const end = Math.min(Number(m[2]), size - 1);
    const headers = { 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': end - start + 1 };
    res.writeHead(206, headers);
    if (o.lie) res.end(Buffer.alloc(end - start + 1, 0x5a));
    else createReadStream(path, { start, end }).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

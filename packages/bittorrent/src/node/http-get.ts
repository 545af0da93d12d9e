import type { IncomingMessage, RequestOptions } from 'node:http';
import type { FetchLike } from '../tracker-client/http-tracker.ts';

/** Redirects followed at most (fetch follows 20; a tracker that needs more is broken). */
const MAX_REDIRECTS = 5;

/** Bytes of a body kept at most: past this the caller sees a body over its own limit. */
const MAX_BODY = 4 * 1024 * 1024 + 1;

/**
 * The HTTP(S) GET the tracker client needs, through node:http instead of the global fetch.
 * Why: Node 20's fetch is undici, which is loaded and its HTTP parser (WebAssembly) compiled
 * on first use: ~80 ms of CPU for a process's first announce, against ~18 ms for node:http
 * (measured on this project's 2-core VMs), which a `swarmcast get` pays at every start.
 * node:https (and so TLS) is loaded only for an https URL. Redirects are followed (up to 5);
 * a body is read up to just past the 4 MiB the tracker client accepts.
 */
export const nodeHttpGet: FetchLike = async (url, init) => {
  let target = new URL(url);
  for (let hop = 0; ; hop++) {
    const res = await request(target, init);
    const location = res.headers.location;
    if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && location) {
      res.resume();
      if (hop >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
      target = new URL(location, target);
      continue;
    }
    const body = await readBody(res, init.signal);
    const status = res.statusCode ?? 0;
    return {
      ok: status >= 200 && status < 300,
      status,
      arrayBuffer: async () => body,
    };
  }
};

async function request(
  url: URL,
  init: { signal?: AbortSignal; headers?: Record<string, string> },
): Promise<IncomingMessage> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`unsupported protocol ${url.protocol}`);
  const { request: send } =
    url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  init.signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    // agent: false: a connection per request, closed after it (announces are minutes apart).
    // The user agent fetch sent ("node"), so trackers see the same client as before.
    const options: RequestOptions = { agent: false, headers: { 'user-agent': 'node', ...init.headers } };
    if (init.signal) options.signal = init.signal;
    const req = send(url, options, resolve);
    req.once('error', reject);
    req.end();
  });
}

function readBody(res: IncomingMessage, signal: AbortSignal | undefined): Promise<ArrayBuffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onAbort = () => res.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = () => {
      signal?.removeEventListener('abort', onAbort);
      const body = new Uint8Array(new ArrayBuffer(Math.min(size, MAX_BODY)));
      let at = 0;
      for (const c of chunks) {
        body.set(c.subarray(0, body.length - at), at);
        at += Math.min(c.length, body.length - at);
      }
      resolve(body.buffer);
    };
    res.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= MAX_BODY) {
        res.destroy();
        finish();
      }
    });
    res.once('end', finish);
    res.once('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
  });
}

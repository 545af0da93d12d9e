import { fail, ok, type Result } from './errors.ts';
import { type Metainfo, slicesOf } from './metainfo/model.ts';

/** The fetch a web seed needs: the standard one (browsers, Node >= 18). */
export type WebFetch = (
  url: string,
  init: { headers: Record<string, string>; signal?: AbortSignal },
) => Promise<Response>;

export interface WebSeedOptions {
  readonly fetch?: WebFetch;
  /** Per request (default 30 s). */
  readonly timeoutMs?: number;
}

type Layout = Pick<Metainfo, 'name' | 'files' | 'singleFile' | 'pieceLength' | 'length' | 'pieceCount'>;

const encodePath = (parts: readonly string[]) => parts.map(encodeURIComponent).join('/');

/**
 * BEP 19 URL of a file: for a single-file torrent the URL is the file itself, unless it ends
 * in "/" (then the name is appended); for a multi-file torrent the URL is a folder that holds
 * `<name>/<path>`.
 */
export function webSeedFileUrl(
  base: string,
  layout: Pick<Layout, 'name' | 'singleFile'>,
  path: readonly string[],
): string {
  if (layout.singleFile) return base.endsWith('/') ? base + encodeURIComponent(layout.name) : base;
  return `${base.endsWith('/') ? base : `${base}/`}${encodePath([layout.name, ...path])}`;
}

/** Reads a body of exactly `expected` bytes; more or fewer is an error (a hostile server cannot make us buffer more). */
async function readExactly(res: Response, expected: number): Promise<Uint8Array | null> {
  const out = new Uint8Array(expected);
  if (!res.body) {
    const all = new Uint8Array(await res.arrayBuffer());
    return all.length === expected ? all : null;
  }
  const reader = res.body.getReader();
  let at = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (at + value.length > expected) return null;
      out.set(value, at);
      at += value.length;
    }
  } finally {
    reader.releaseLock();
    await res.body.cancel().catch(() => {});
  }
  return at === expected ? out : null;
}

/**
 * A BEP 19 web seed: maps pieces to byte ranges of the torrent's files (multi-file, pad
 * files), fetches them with HTTP Range requests, and returns the piece's bytes for the
 * caller to verify (a web seed is a peer like any other: its bytes are never trusted).
 */
export class WebSeed {
  constructor(
    readonly url: string,
    private readonly layout: Layout,
    private readonly o: WebSeedOptions = {},
  ) {}

  /** Bytes [start, start + length) of the torrent's byte space (pad bytes are zeros). */
  async fetchRange(start: number, length: number, signal?: AbortSignal): Promise<Result<Uint8Array>> {
    if (start < 0 || length < 0 || start + length > this.layout.length) {
      return fail('BT_WEBSEED_RANGE', `range ${start}+${length} is outside the torrent`);
    }
    const out = new Uint8Array(length);
    const fetchFn = this.o.fetch ?? (globalThis.fetch as WebFetch);
    for (const s of slicesOf(this.layout.files, start, length)) {
      const file = this.layout.files[s.fileIndex]!;
      if (file.pad) continue;
      const url = webSeedFileUrl(this.url, this.layout, file.path);
      const timeout = AbortSignal.timeout(this.o.timeoutMs ?? 30_000);
      const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
      let res: Response;
      try {
        res = await fetchFn(url, {
          headers: { range: `bytes=${s.fileOffset}-${s.fileOffset + s.length - 1}` },
          signal: combined,
        });
      } catch (cause) {
        if (timeout.aborted) return fail('BT_WEBSEED_TIMEOUT', `${url} did not answer in time`, cause);
        return fail('BT_WEBSEED_UNREACHABLE', `${url}: ${(cause as Error).message}`, cause);
      }
      // 200 is acceptable only when the range asked for is the whole file (some servers drop Range then)
      const whole = s.fileOffset === 0 && s.length === file.length;
      if (res.status !== 206 && !(res.status === 200 && whole)) {
        await res.body?.cancel().catch(() => {});
        const code = res.status === 200 ? 'BT_WEBSEED_NO_RANGES' : 'BT_WEBSEED_HTTP_STATUS';
        return fail(code, `${url} answered HTTP ${res.status} to a range request`);
      }
      let body: Uint8Array | null;
      try {
        body = await readExactly(res, s.length);
      } catch (cause) {
        return fail('BT_WEBSEED_UNREACHABLE', `${url}: body failed: ${(cause as Error).message}`, cause);
      }
      if (!body)
        return fail('BT_WEBSEED_SHORT', `${url} sent a body of the wrong length for ${s.length} bytes`);
      out.set(body, s.pieceOffset);
    }
    return ok(out);
  }

  /** The bytes of piece `index` (verify them with `verifyPiece` before use). */
  fetchPiece(index: number, signal?: AbortSignal): Promise<Result<Uint8Array>> {
    if (!Number.isInteger(index) || index < 0 || index >= this.layout.pieceCount) {
      return Promise.resolve(fail('BT_WEBSEED_RANGE', `piece ${index} out of range`));
    }
    const start = index * this.layout.pieceLength;
    return this.fetchRange(start, Math.min(this.layout.pieceLength, this.layout.length - start), signal);
  }
}

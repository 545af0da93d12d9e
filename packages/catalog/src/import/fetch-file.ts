import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { fail, ok, type Result } from '../errors.ts';
import { type ImportNetworkPolicy, safeGet } from './safe-fetch.ts';

export const importUserAgent = 'Swarmcast-Import/0.1 (+https://github.com/swarmcast)';

export interface FetchLimits {
  maxBytes: number;
  /** No byte for this long aborts the request (the transfer may take longer overall). */
  idleTimeoutMs: number;
  signal?: AbortSignal;
  /** Which addresses may be fetched (default: public only, SWARMCAST_IMPORT_ALLOW_PRIVATE). */
  policy?: ImportNetworkPolicy;
}

export interface FetchProgress {
  bytes: number;
  total: number | null;
}

function withIdleTimeout(limits: FetchLimits): { signal: AbortSignal; touch(): void; done(): void } {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () => controller.abort(new Error(`no data for ${limits.idleTimeoutMs} ms`)),
      limits.idleTimeoutMs,
    );
  };
  const onOuter = () => controller.abort(limits.signal?.reason);
  limits.signal?.addEventListener('abort', onOuter, { once: true });
  touch();
  return {
    signal: controller.signal,
    touch,
    done() {
      clearTimeout(timer);
      limits.signal?.removeEventListener('abort', onOuter);
    },
  };
}

/** A small linked file (feed, artwork, chapters, transcript) into memory, bounded. */
export async function fetchBytes(
  url: string,
  limits: FetchLimits,
): Promise<Result<{ bytes: Buffer; type: string }>> {
  const t = withIdleTimeout(limits);
  try {
    const res = await safeGet(url, {
      signal: t.signal,
      headers: { 'user-agent': importUserAgent },
      ...(limits.policy ? { policy: limits.policy } : {}),
    });
    if (!res.ok) {
      await res.body.cancel();
      return fail('CAT_FETCH_FAILED', `${url}: HTTP ${res.status}`);
    }
    const declared = Number(res.headers.get('content-length') ?? Number.NaN);
    if (declared > limits.maxBytes) {
      await res.body.cancel();
      return fail('CAT_FETCH_FAILED', `${url}: larger than ${limits.maxBytes} bytes`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      t.touch();
      size += chunk.length;
      if (size > limits.maxBytes) {
        await res.body.cancel();
        return fail('CAT_FETCH_FAILED', `${url}: larger than ${limits.maxBytes} bytes`);
      }
      chunks.push(Buffer.from(chunk));
    }
    return ok({ bytes: Buffer.concat(chunks), type: res.headers.get('content-type') ?? '' });
  } catch (err) {
    return fail('CAT_FETCH_FAILED', `${url}: ${(err as Error).message}`);
  } finally {
    t.done();
  }
}

/**
 * An enclosure to `path`, resuming: bytes already in `path + '.part'` are asked for with a
 * Range request (If-Range is not sent: hosts rarely give validators for media, and the
 * total length is checked instead); a 200 answer starts again from zero. The part file is
 * renamed to `path` only when complete, so a crash leaves a resumable part, never a short
 * file that looks finished.
 */
export async function fetchToFile(
  url: string,
  path: string,
  limits: FetchLimits,
  onProgress?: (p: FetchProgress) => void,
): Promise<Result<{ size: number }>> {
  const part = `${path}.part`;
  const have = await stat(part).then(
    (s) => s.size,
    () => 0,
  );
  const t = withIdleTimeout(limits);
  try {
    const headers: Record<string, string> = { 'user-agent': importUserAgent };
    if (have > 0) headers.range = `bytes=${have}-`;
    const res = await safeGet(url, {
      signal: t.signal,
      headers,
      ...(limits.policy ? { policy: limits.policy } : {}),
    });
    if (res.status === 416 && have > 0) {
      // The part already holds the whole file (a crash between the last byte and the rename).
      await res.body?.cancel();
      await rename(part, path);
      return ok({ size: have });
    }
    if ((res.status !== 200 && res.status !== 206) || !res.body) {
      await res.body?.cancel();
      return fail('CAT_FETCH_FAILED', `${url}: HTTP ${res.status}`);
    }
    const resumed = res.status === 206 && have > 0;
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
    if (res.status === 206 && (!range || Number(range[1]) !== have)) {
      await res.body.cancel();
      await rm(part, { force: true });
      return fail(
        'CAT_FETCH_FAILED',
        `${url}: the server answered a different range; starting over next time`,
      );
    }
    const length = Number(res.headers.get('content-length') ?? Number.NaN);
    const total =
      range?.[3] && range[3] !== '*'
        ? Number(range[3])
        : Number.isFinite(length)
          ? length + (resumed ? have : 0)
          : null;
    if (total !== null && total > limits.maxBytes) {
      await res.body.cancel();
      return fail(
        'CAT_FETCH_FAILED',
        `${url}: ${total} bytes is more than this node accepts (${limits.maxBytes})`,
      );
    }
    const out = createWriteStream(part, { flags: resumed ? 'a' : 'w' });
    let bytes = resumed ? have : 0;
    try {
      for await (const chunk of res.body) {
        t.touch();
        bytes += chunk.length;
        if (bytes > limits.maxBytes) throw new Error(`more than ${limits.maxBytes} bytes`);
        if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
        onProgress?.({ bytes, total });
      }
    } finally {
      await new Promise<void>((resolve, reject) =>
        out.end((err?: Error | null) => (err ? reject(err) : resolve())),
      );
    }
    if (total !== null && bytes !== total)
      return fail('CAT_FETCH_FAILED', `${url}: ended at ${bytes} of ${total} bytes`);
    await rename(part, path);
    return ok({ size: bytes });
  } catch (err) {
    // The part stays: the next attempt resumes from it.
    return fail('CAT_FETCH_FAILED', `${url}: ${(err as Error).message}`);
  } finally {
    t.done();
  }
}

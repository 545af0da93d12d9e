import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fail, ok, type Result } from '../errors.ts';

export interface ReceiveOptions {
  /** Where the bytes go; the caller chooses it (never from the client's file name). */
  path: string;
  maxBytes: number;
  /** Content-Length, when the client sent one: refused up front if too big, checked at the end. */
  declaredBytes?: number | null;
  signal?: AbortSignal;
}

/**
 * Streams an upload to disk without holding it in memory, stopping as soon as it passes
 * `maxBytes`. A body shorter than its declared length (a client that hung up) is
 * "truncated". On any failure the partial file is removed: nothing is left written.
 */
export async function receiveUpload(body: Readable, o: ReceiveOptions): Promise<Result<{ size: number }>> {
  if (o.declaredBytes != null && o.declaredBytes > o.maxBytes) {
    body.resume();
    return fail(
      'CAT_UPLOAD_TOO_LARGE',
      `the upload is ${o.declaredBytes} bytes; this node takes at most ${o.maxBytes}`,
    );
  }
  let size = 0;
  let tooLarge = false;
  const counter = async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      size += chunk.length;
      if (size > o.maxBytes) {
        tooLarge = true;
        throw new Error('too large');
      }
      yield chunk;
    }
  };
  const file = createWriteStream(o.path, { flags: 'wx' });
  try {
    await pipeline(body, counter, file, { signal: o.signal });
  } catch (err) {
    // The file may still be opening when the pipeline fails; remove it only once it is closed,
    // or the late open would leave an empty file behind.
    if (!file.closed) await new Promise((done) => file.once('close', done));
    await rm(o.path, { force: true });
    if (tooLarge) return fail('CAT_UPLOAD_TOO_LARGE', `the upload is larger than ${o.maxBytes} bytes`);
    return fail(
      'CAT_UPLOAD_TRUNCATED',
      `the upload broke off after ${size} bytes (${(err as Error).message})`,
    );
  }
  if (o.declaredBytes != null && size !== o.declaredBytes) {
    await rm(o.path, { force: true });
    return fail('CAT_UPLOAD_TRUNCATED', `the upload has ${size} bytes but declared ${o.declaredBytes}`);
  }
  if (size === 0) {
    await rm(o.path, { force: true });
    return fail('CAT_BAD_INPUT', 'the upload is empty');
  }
  return ok({ size });
}

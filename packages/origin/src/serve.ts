import { createHash, randomUUID } from 'node:crypto';
import { pipeline, Readable, Transform } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  durationHint,
  type MarkedReads,
  openEnded,
  p2pDurationParam,
  p2pParam,
  windowedEnd,
} from '@swarmcast/bittorrent/media-window';
import {
  type AddressClassifier,
  type AudienceKey,
  type AudienceKeys,
  type Clock,
  classifyReferrer,
  classifyUserAgent,
  type DownloadFact,
  trustedCountry,
} from '@swarmcast/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { httpDate, notModified, rangeStillValid } from './conditional.ts';
import type { FactSink } from './fact-sink.ts';
import { decideRange } from './range.ts';

/** What the edge needs to turn a request into a DownloadFact (shared by every origin route). */
export interface EdgeOptions {
  /** Where each request's DownloadFact goes. */
  facts: FactSink;
  /** Pseudonymous listener keys (daily salt). */
  audienceKeys: AudienceKeys;
  /** Data-centre ranges; none means no address is a data centre. */
  addresses?: AddressClassifier;
  /** The operator's known safe shared addresses (IAB v2.3 5.5.2 note); none: no address is. */
  safeAddresses?: { contains(ip: string): boolean };
  /** Referrer hosts that are not podcast consumers; the fact keeps only the Referer's class. */
  referrerExclusions?: ReadonlySet<string>;
  clock?: Clock;
  /** Cache-Control max-age in seconds (default 3600). */
  maxAgeSeconds?: number;
  /** Header the trusted proxy sets with the listener's country (default x-swarmcast-country). */
  countryHeader?: string;
  /** The P2P player's start-up hold (bittorrent/media-window.ts); none: marked reads are only windowed. */
  markedReads?: MarkedReads;
  /**
   * How long a body's last chunk waits for its fact to be durable (default 2000 ms). Past it
   * the bytes go out anyway and the fact stays queued (a stream outage slows downloads' ends
   * by this much, never stops them).
   */
  durableWaitMs?: number;
}

/**
 * One servable body: a published file, or a stitched enclosure assembled from parts. The
 * range, conditional and fact logic is the same for both; only `open` differs.
 */
export interface ServedSource {
  size: number;
  /** Strong validator. */
  etag: string;
  mtimeMs: number;
  contentType: string;
  /** The published media path the fact names (measurement maps it to the episode). */
  factPath: string;
  /** The stitch plan this body was assembled for (none for a plain file). */
  planId?: string;
  /** Settles when what the fact refers to is stored (a plan stored behind its first answer). */
  durable?: () => Promise<unknown>;
  /** The bytes [start, end] (inclusive) as a stream. */
  open(start: number, end: number): Readable;
  /** Extra response headers (e.g. why a plain file was served instead of a stitched one). */
  headers?: Record<string, string>;
}

export const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'Accept-Ranges, Content-Length, Content-Range, ETag, Last-Modified',
};

const noExclusions: ReadonlySet<string> = new Set();

/**
 * Answers a GET/HEAD for `source`: validators, 304, If-Range, one byte range (206/416),
 * the body, and one DownloadFact when the response finishes or the client goes away.
 */
export function serveSource(
  req: FastifyRequest,
  reply: FastifyReply,
  source: ServedSource,
  edge: EdgeOptions,
  started: number,
): FastifyReply {
  const head = req.method === 'HEAD';
  const v = { etag: source.etag, mtimeMs: source.mtimeMs };
  const size = source.size;
  const rangeHeader = typeof req.headers.range === 'string' ? req.headers.range : undefined;
  reply.headers({
    ...CORS_HEADERS,
    'accept-ranges': 'bytes',
    etag: v.etag,
    'last-modified': httpDate(source.mtimeMs),
    'content-type': source.contentType,
    'cache-control': `public, max-age=${edge.maxAgeSeconds ?? 3600}`,
    'x-content-type-options': 'nosniff',
    ...source.headers,
  });
  // A stitched body differs per listener: shared caches must not hand one plan to another.
  if (source.planId !== undefined) reply.header('cache-control', 'private, max-age=3600');

  const record = factRecorder(req, reply, source, edge, started, rangeHeader ?? null);

  if (notModified(req.headers as Record<string, string>, v)) {
    record(304, null, null, () => 0);
    return reply.code(304).send();
  }
  const ifRange = req.headers['if-range'];
  const decision = rangeStillValid(typeof ifRange === 'string' ? ifRange : undefined, v)
    ? decideRange(rangeHeader, size)
    : ({ kind: 'none' } as const);
  if (decision.kind === 'unsatisfiable') {
    record(416, null, null, () => 0);
    return reply
      .code(416)
      .header('content-range', `bytes */${size}`)
      .header('content-type', 'application/json; charset=utf-8')
      .send(JSON.stringify({ code: 'ORG_RANGE_NOT_SATISFIABLE', message: `file has ${size} bytes` }));
  }
  // The P2P player's marked URL: an open-ended range is answered one window at a time, so
  // its next read can go to the swarm (bittorrent/media-window.ts).
  const query = req.query as Record<string, unknown> | undefined;
  const marked = query?.[p2pParam] !== undefined;
  const [status, start, windowEnd] =
    decision.kind === 'single'
      ? [206, decision.start, windowedEnd(marked, rangeHeader, decision.start, decision.end)]
      : [200, 0, size - 1];
  let [waitMs, end] = [0, windowEnd];
  if (decision.kind === 'single' && !head && marked && openEnded(rangeHeader) && edge.markedReads) {
    // The first visit's start-up hold (media-window.ts); the client is the stream and the
    // listener, hashed so no address or user agent is kept.
    const client = createHash('sha256')
      .update(`${String(query?.[p2pParam])}\0${req.ip ?? ''}\0${req.headers['user-agent'] ?? ''}`)
      .digest('base64');
    const read = edge.markedReads.plan(
      client,
      start,
      decision.end,
      size,
      durationHint(query?.[p2pDurationParam]),
    );
    [waitMs, end] = [read.waitMs, read.end];
  }
  const length = end - start + 1;
  reply.code(status).header('content-length', String(length));
  if (status === 206) reply.header('content-range', `bytes ${start}-${end}/${size}`);
  if (head || length === 0) {
    record(status, null, null, () => 0);
    return reply.send();
  }
  const source$ = waitMs > 0 ? openAfter(waitMs, () => source.open(start, end)) : source.open(start, end);
  // The last chunk waits until the fact of the whole response is durable: a process killed
  // (SIGKILL) after a listener has every byte cannot lose the download it counts.
  const body = holdLastChunk(
    () => Promise.all([record.whole(length), source.durable?.()]),
    edge.durableWaitMs ?? 2000,
  );
  pipeline(source$, body, () => {});
  let sent = 0;
  body.on('data', (chunk: Uint8Array) => {
    sent += chunk.length;
  });
  record(status, start, end, () => sent);
  return reply.send(body);
}

/**
 * Passes chunks through one behind; the last one goes out once `durable()` settles or after
 * `maxWaitMs`, whichever is first.
 */
function holdLastChunk(durable: () => Promise<unknown>, maxWaitMs: number): Transform {
  let held: Uint8Array | undefined;
  return new Transform({
    transform(chunk: Uint8Array, _encoding, done) {
      const previous = held;
      held = chunk;
      done(null, previous);
    },
    flush(done) {
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, maxWaitMs);
      });
      void Promise.race([durable().catch(() => {}), waited]).then(() => {
        clearTimeout(timer);
        done(null, held);
      });
    },
  });
}

/**
 * The body, opened after `ms` (a held start-up read): the status and headers go out at once,
 * the bytes after the wait. Destroyed during the wait (the client went away): never opened.
 */
function openAfter(ms: number, open: () => Readable): Readable {
  return Readable.from(
    (async function* () {
      await sleep(ms);
      yield* open();
    })(),
    { objectMode: false },
  );
}

/**
 * Arms the fact for this response: pushed once, when the response finishes or the
 * client goes away, with the body bytes handed to the socket by then.
 */
function factRecorder(
  req: FastifyRequest,
  reply: FastifyReply,
  source: ServedSource,
  edge: EdgeOptions,
  time: number,
  rangeHeader: string | null,
) {
  let done = false;
  let keyPromise: Promise<AudienceKey> | undefined;
  let build: ((audienceKey: AudienceKey, bytesSent: number, complete: boolean) => DownloadFact) | undefined;
  const arm = (status: number, rangeStart: number | null, rangeEnd: number | null, bytes: () => number) => {
    const ua = req.headers['user-agent'] ?? '';
    // Undefined when the client already went away (see addressPrefix).
    const ip = req.ip ?? '';
    // Computed now, while the raw address and user agent are at hand; only the key and
    // the classes are kept past this point.
    const key = edge.audienceKeys.audienceKey(ip, ua, time);
    keyPromise = key;
    const client = classifyUserAgent(ua);
    const datacenter = edge.addresses?.isDatacenter(ip) ?? false;
    const safe = edge.safeAddresses?.contains(ip) ?? false;
    const referrer = classifyReferrer(req.headers.referer, edge.referrerExclusions ?? noExclusions);
    const country = trustedCountry(req, edge.countryHeader);
    build = (audienceKey, bytesSent, complete) => ({
      kind: 'download',
      id: randomUUID(),
      time,
      audienceKey,
      datacenter,
      path: source.factPath,
      method: req.method === 'HEAD' ? 'HEAD' : 'GET',
      status,
      fileSize: source.size,
      rangeStart: bytesSent > 0 ? rangeStart : null,
      rangeEnd:
        bytesSent > 0 && rangeStart !== null ? (complete ? rangeEnd : rangeStart + bytesSent - 1) : null,
      rangeHeader,
      bytesSent,
      client,
      referrer,
      ...(safe ? { safe } : {}),
      ...(country ? { country } : {}),
      ...(source.planId !== undefined ? { planId: source.planId } : {}),
    });
    const finish = () => {
      if (done) return;
      done = true;
      const bytesSent = bytes();
      const complete = reply.raw.writableFinished;
      void key.then(
        (audienceKey) => void edge.facts.push(build!(audienceKey, bytesSent, complete)),
        () => {},
      );
    };
    reply.raw.once('finish', finish);
    reply.raw.once('close', finish);
  };
  /**
   * Pushes the fact of the whole body now (before its last chunk is written) and resolves when
   * it is durable; the fact at the response's end is then not pushed again.
   */
  const whole = async (length: number): Promise<void> => {
    if (done || !keyPromise || !build) return;
    done = true;
    await edge.facts.push(build(await keyPromise, length, true));
  };
  return Object.assign(arm, { whole });
}

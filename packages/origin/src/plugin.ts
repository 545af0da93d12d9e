import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { realpath } from 'node:fs/promises';
import {
  type AddressClassifier,
  type AudienceKeys,
  type Clock,
  classifyReferrer,
  classifyUserAgent,
  type DownloadFact,
  systemClock,
} from '@swarmcast/platform';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { etagOf, httpDate, notModified, rangeStillValid } from './conditional.ts';
import { contentTypeOf } from './content-type.ts';
import type { FactSink } from './fact-sink.ts';
import { decideRange } from './range.ts';
import { checkMediaPath, findPublished, type PublishedFile } from './safe-path.ts';

export interface OriginOptions {
  /** The folder of published files. Everything under it (but dotfiles) is public. */
  mediaRoot: string;
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
}

const noExclusions: ReadonlySet<string> = new Set();

const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'Accept-Ranges, Content-Length, Content-Range, ETag, Last-Modified',
};

/**
 * The origin as a Fastify plugin: register it under a prefix (`{ prefix: '/media' }`) and
 * every file under `mediaRoot` is served at `<prefix>/<path>` with GET/HEAD, single byte
 * ranges, conditional requests and CORS; each answered request for a published file
 * becomes a DownloadFact. See README.md for the rules.
 */
export async function originPlugin(app: FastifyInstance, options: OriginOptions): Promise<void> {
  const realRoot = await realpath(options.mediaRoot);
  const clock = options.clock ?? systemClock;
  const maxAge = options.maxAgeSeconds ?? 3600;
  const prefix = app.prefix;

  const rawMediaPath = (req: FastifyRequest): string => {
    const url = req.raw.url ?? '/';
    const q = url.indexOf('?');
    const path = q >= 0 ? url.slice(0, q) : url;
    return path.startsWith(prefix) ? path.slice(prefix.length) : path;
  };

  app.options('/*', async (_req, reply) => {
    reply
      .code(204)
      .headers({
        ...CORS_HEADERS,
        'access-control-allow-methods': 'GET, HEAD, OPTIONS',
        'access-control-allow-headers': 'Range, If-None-Match, If-Modified-Since, If-Range',
        'access-control-max-age': '86400',
      })
      .send();
  });

  app.route({
    method: ['GET', 'HEAD'],
    url: '/*',
    handler: async (req, reply) => {
      const started = clock.now();
      const check = checkMediaPath(rawMediaPath(req));
      if (!check.ok) {
        return reply
          .code(check.status)
          .headers(CORS_HEADERS)
          .send({ code: check.status === 400 ? 'ORG_BAD_PATH' : 'ORG_NOT_FOUND', message: check.why });
      }
      const file = await findPublished(realRoot, check.segments);
      if (!file) {
        return reply.code(404).headers(CORS_HEADERS).send({ code: 'ORG_NOT_FOUND', message: 'no such file' });
      }
      return serve(req, reply, file, check.segments.join('/'), started);
    },
  });

  async function serve(
    req: FastifyRequest,
    reply: FastifyReply,
    file: PublishedFile,
    publishedPath: string,
    started: number,
  ): Promise<FastifyReply> {
    const head = req.method === 'HEAD';
    const v = { etag: etagOf(file.size, file.mtimeMs), mtimeMs: file.mtimeMs };
    const rangeHeader = typeof req.headers.range === 'string' ? req.headers.range : undefined;
    reply.headers({
      ...CORS_HEADERS,
      'accept-ranges': 'bytes',
      etag: v.etag,
      'last-modified': httpDate(file.mtimeMs),
      'content-type': contentTypeOf(publishedPath),
      'cache-control': `public, max-age=${maxAge}`,
      'x-content-type-options': 'nosniff',
    });

    const record = factRecorder(req, reply, file, publishedPath, started, rangeHeader ?? null);

    if (notModified(req.headers as Record<string, string>, v)) {
      record(304, null, null, () => 0);
      return reply.code(304).send();
    }
    const ifRange = req.headers['if-range'];
    const decision = rangeStillValid(typeof ifRange === 'string' ? ifRange : undefined, v)
      ? decideRange(rangeHeader, file.size)
      : ({ kind: 'none' } as const);
    if (decision.kind === 'unsatisfiable') {
      record(416, null, null, () => 0);
      return reply
        .code(416)
        .header('content-range', `bytes */${file.size}`)
        .header('content-type', 'application/json; charset=utf-8')
        .send(JSON.stringify({ code: 'ORG_RANGE_NOT_SATISFIABLE', message: `file has ${file.size} bytes` }));
    }
    const [status, start, end] =
      decision.kind === 'single' ? [206, decision.start, decision.end] : [200, 0, file.size - 1];
    const length = end - start + 1;
    reply.code(status).header('content-length', String(length));
    if (status === 206) reply.header('content-range', `bytes ${start}-${end}/${file.size}`);
    if (head || length === 0) {
      record(status, null, null, () => 0);
      return reply.send();
    }
    const body = createReadStream(file.path, { start, end, highWaterMark: 64 * 1024 });
    let sent = 0;
    body.on('data', (chunk) => {
      sent += chunk.length;
    });
    record(status, start, end, () => sent);
    return reply.send(body);
  }

  /**
   * Arms the fact for this response: pushed once, when the response finishes or the
   * client goes away, with the body bytes handed to the socket by then.
   */
  function factRecorder(
    req: FastifyRequest,
    reply: FastifyReply,
    file: PublishedFile,
    path: string,
    time: number,
    rangeHeader: string | null,
  ) {
    return (status: number, rangeStart: number | null, rangeEnd: number | null, bytes: () => number) => {
      const ua = req.headers['user-agent'] ?? '';
      const ip = req.ip;
      // Computed now, while the raw address and user agent are at hand; only the key and
      // the classes are kept past this point.
      const keyPromise = options.audienceKeys.audienceKey(ip, ua, time);
      const client = classifyUserAgent(ua);
      const datacenter = options.addresses?.isDatacenter(ip) ?? false;
      const safe = options.safeAddresses?.contains(ip) ?? false;
      const referrer = classifyReferrer(req.headers.referer, options.referrerExclusions ?? noExclusions);
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        const bytesSent = bytes();
        const complete = reply.raw.writableFinished;
        void keyPromise.then(
          (audienceKey) => {
            const fact: DownloadFact = {
              kind: 'download',
              id: randomUUID(),
              time,
              audienceKey,
              datacenter,
              path,
              method: req.method === 'HEAD' ? 'HEAD' : 'GET',
              status,
              fileSize: file.size,
              rangeStart: bytesSent > 0 ? rangeStart : null,
              rangeEnd:
                bytesSent > 0 && rangeStart !== null
                  ? complete
                    ? rangeEnd
                    : rangeStart + bytesSent - 1
                  : null,
              rangeHeader,
              bytesSent,
              client,
              referrer,
              ...(safe ? { safe } : {}),
            };
            options.facts.push(fact);
          },
          () => {},
        );
      };
      reply.raw.once('finish', finish);
      reply.raw.once('close', finish);
    };
  }
}

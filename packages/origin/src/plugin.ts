import { createReadStream } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { MarkedReads } from '@swarmcast/bittorrent/media-window';
import { systemClock } from '@swarmcast/platform';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { etagOf } from './conditional.ts';
import { contentTypeOf } from './content-type.ts';
import { checkMediaPath, findPublished, type PublishedFile } from './safe-path.ts';
import { CORS_HEADERS, type EdgeOptions, type ServedSource, serveSource } from './serve.ts';

export interface OriginOptions extends EdgeOptions {
  /** The folder of published files. Everything under it (but dotfiles) is public. */
  mediaRoot: string;
}

/** A published file as a servable source (strong ETag from size and mtime). */
export function fileSource(file: PublishedFile, publishedPath: string): ServedSource {
  return {
    size: file.size,
    etag: etagOf(file.size, file.mtimeMs),
    mtimeMs: file.mtimeMs,
    contentType: contentTypeOf(publishedPath),
    factPath: publishedPath,
    open: (start, end) => createReadStream(file.path, { start, end, highWaterMark: 64 * 1024 }),
  };
}

export const preflight = {
  ...CORS_HEADERS,
  'access-control-allow-methods': 'GET, HEAD, OPTIONS',
  'access-control-allow-headers': 'Range, If-None-Match, If-Modified-Since, If-Range',
  'access-control-max-age': '86400',
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
  const prefix = app.prefix;
  const edge: EdgeOptions = { ...options, markedReads: options.markedReads ?? new MarkedReads() };

  const rawMediaPath = (req: FastifyRequest): string => {
    const url = req.raw.url ?? '/';
    const q = url.indexOf('?');
    const path = q >= 0 ? url.slice(0, q) : url;
    return path.startsWith(prefix) ? path.slice(prefix.length) : path;
  };

  app.options('/*', async (_req, reply) => {
    reply.code(204).headers(preflight).send();
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
      return serveSource(req, reply, fileSource(file, check.segments.join('/')), edge, started);
    },
  });
}

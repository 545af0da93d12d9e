import { realpath } from 'node:fs/promises';
import { type AudienceKey, systemClock, trustedCountry } from '@swarmcast/platform';
import type { FastifyInstance } from 'fastify';
import { type BodyPart, bodySize, readParts } from './parts.ts';
import { fileSource, preflight } from './plugin.ts';
import { checkMediaPath, findPublished, type PublishedFile } from './safe-path.ts';
import { CORS_HEADERS, type EdgeOptions, type ServedSource, serveSource } from './serve.ts';

/** Who asks for an enclosure: what a resolver needs to pick (or reuse) a stitch plan. */
export interface EnclosureClient {
  /** The listener's audience key (address prefix + user agent, daily salt). */
  audienceKey: AudienceKey;
  /** The address prefix alone under the same salt: bounds the plans one client can make. */
  clientKey: AudienceKey;
  /** Raw, used for this request only (device class); never stored. */
  userAgent: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The country the trusted proxy states (`trustedCountry`, as in download facts); null otherwise. */
  country: string | null;
  now: number;
}

/** A stitched body: one plan's bytes, assembled from parts. */
export interface StitchedEnclosure {
  kind: 'stitched';
  planId: string;
  parts: readonly BodyPart[];
  /** When the plan was made: its Last-Modified. */
  createdAt: number;
  contentType: string;
  /** The episode's published media path (the fact names it). */
  mediaPath: string;
  /** Settles once the plan is stored (a body's last bytes wait for it, as for the fact). */
  stored?: () => Promise<unknown>;
}

/** The plain published file, and why it is served instead of a stitched one. */
export interface PlainEnclosure {
  kind: 'plain';
  mediaPath: string;
  reason: string;
}

/**
 * The node's injected decision: the origin (layer 1) knows nothing of ads or plans, it
 * serves what the resolver returns. null: no such episode (404).
 */
export type EnclosureResolver = (
  episodeId: string,
  client: EnclosureClient,
) => Promise<StitchedEnclosure | PlainEnclosure | null>;

export interface EnclosureOptions extends EdgeOptions {
  mediaRoot: string;
  resolve: EnclosureResolver;
  /** The episode's plain media path, for when the resolver fails (it should not). */
  plainPath: (episodeId: string) => Promise<string | null>;
}

const publishedTtlMs = 5_000;
const idPattern = /^([A-Za-z0-9_-]{1,64})(?:\.(?:mp3|m4a|mp4|bin))?$/;

/** The ETag of one plan's body: strong, and different for every plan and size. */
export function planEtag(planId: string, size: number): string {
  return `"dai-${planId}-${size.toString(16)}"`;
}

/**
 * The podcast enclosure with dynamic ad insertion: `GET|HEAD <prefix>/<episodeId>.<ext>`.
 * The resolver picks the listener's stitch plan (or the plain file, with a reason in
 * `x-swarmcast-dai`); ranges, validators and facts are the origin's, the fact carrying
 * the plan id. A failing resolver never turns into a 5xx: the plain file is served.
 */
export async function enclosurePlugin(app: FastifyInstance, options: EnclosureOptions): Promise<void> {
  const realRoot = await realpath(options.mediaRoot);
  const clock = options.clock ?? systemClock;
  // Whether an episode's file is still published, reused for a few seconds by stitched
  // answers (their bytes come from the parts; a realpath + stat per request showed in the
  // profile). A plain answer always checks, as the origin does.
  const checked = new Map<string, { at: number; file: PublishedFile | null }>();
  const published = async (mediaPath: string, now: number | null): Promise<PublishedFile | null> => {
    const hit = now === null ? undefined : checked.get(mediaPath);
    if (hit && now !== null && now - hit.at < publishedTtlMs && now >= hit.at) return hit.file;
    const check = checkMediaPath(mediaPath.split('/').map(encodeURIComponent).join('/'));
    const file = check.ok ? await findPublished(realRoot, check.segments) : null;
    if (now !== null) {
      if (checked.size >= 10_000) checked.clear();
      checked.set(mediaPath, { at: now, file });
    }
    return file;
  };

  app.options('/*', async (_req, reply) => {
    reply.code(204).headers(preflight).send();
  });

  app.route({
    method: ['GET', 'HEAD'],
    url: '/:name',
    handler: async (req, reply) => {
      const started = clock.now();
      const m = idPattern.exec((req.params as { name: string }).name);
      if (!m) {
        return reply
          .code(404)
          .headers(CORS_HEADERS)
          .send({ code: 'ORG_NOT_FOUND', message: 'no such episode' });
      }
      const ua = req.headers['user-agent'] ?? '';
      const [audienceKey, clientKey] = await Promise.all([
        options.audienceKeys.audienceKey(req.ip, ua, started),
        options.audienceKeys.audienceKey(req.ip, '', started),
      ]);
      let answer: StitchedEnclosure | PlainEnclosure | null;
      try {
        answer = await options.resolve(m[1]!, {
          audienceKey,
          clientKey,
          userAgent: ua,
          headers: req.headers,
          country: trustedCountry(req, options.countryHeader),
          now: started,
        });
      } catch (err) {
        req.log.warn({ err }, 'enclosure resolver failed; serving the plain file');
        const mediaPath = await options.plainPath(m[1]!).catch(() => null);
        answer = mediaPath === null ? null : { kind: 'plain', mediaPath, reason: 'resolver-failed' };
      }
      if (!answer) {
        return reply
          .code(404)
          .headers(CORS_HEADERS)
          .send({ code: 'ORG_NOT_FOUND', message: 'no such episode' });
      }
      const file = await published(answer.mediaPath, answer.kind === 'stitched' ? started : null);
      if (!file) {
        return reply.code(404).headers(CORS_HEADERS).send({ code: 'ORG_NOT_FOUND', message: 'no such file' });
      }
      let source: ServedSource;
      if (answer.kind === 'plain') {
        source = {
          ...fileSource(file, answer.mediaPath),
          headers: { 'x-swarmcast-dai': `plain; reason=${answer.reason}` },
        };
      } else {
        const parts = answer.parts;
        const size = bodySize(parts);
        source = {
          size,
          etag: planEtag(answer.planId, size),
          mtimeMs: answer.createdAt,
          contentType: answer.contentType,
          factPath: answer.mediaPath,
          planId: answer.planId,
          ...(answer.stored ? { durable: answer.stored } : {}),
          open: (start, end) => readParts(parts, start, end),
          headers: { 'x-swarmcast-dai': `plan=${answer.planId}` },
        };
      }
      return serveSource(req, reply, source, options, started);
    },
  });
}

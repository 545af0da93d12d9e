import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type Clock, messagePage, type ViewerOf, wantsHtml } from '@swarmcast/platform';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { measureErrors } from '../errors.ts';
import { type WindowKind, windowKinds } from '../rules/windows.ts';
import { audienceCsv, playAudienceCsv } from './audience.ts';
import { adminCsv, advertiserCsv, creatorCsv } from './csv.ts';
import { adminPage, advertiserPage, creatorPage, type PageContext } from './html.ts';
import type { Period } from './load.ts';
import type { Reports } from './reports.ts';

export type ReportScope = { kind: 'creator' | 'advertiser'; id: string } | { kind: 'admin' };

/**
 * What the portal's check decided: `unauthenticated` (no valid credentials: 401) or
 * `forbidden` (signed in as someone else: 403). `true` / `false` mean allowed / forbidden.
 */
export type ReportAccess = 'allowed' | 'forbidden' | 'unauthenticated';

/** Decides whether a request may read a report; the portal supplies its own. */
export type ReportAuthorizer = (
  req: FastifyRequest,
  scope: ReportScope,
) => ReportAccess | boolean | Promise<ReportAccess | boolean>;

/** How report pages name things: titles and names for ids, and the node's currency. */
export interface ReportPresentation {
  /** Show titles, campaign and advertiser names by id (unknown ids stay ids). */
  labels?: (ids: string[]) => Promise<ReadonlyMap<string, string>>;
  currency?: string;
}

/** Without the portal's check nobody reads a report: they show money and listeners. */
export const denyAllReports: ReportAuthorizer = () => 'unauthenticated';

const dayMs = 86_400_000;

/** `from`/`to` as YYYY-MM-DD (UTC) or ms; default the 30 days up to now. */
export function parsePeriod(q: Record<string, unknown>, now: number): Period | null {
  const at = (v: unknown, fallback: number): number | null => {
    if (v === undefined || v === '') return fallback;
    if (typeof v !== 'string') return null;
    if (/^\d{4}-\d{2}-\d{2}$/.test(v)) {
      const t = Date.parse(`${v}T00:00:00Z`);
      return Number.isNaN(t) ? null : t;
    }
    return /^\d{1,15}$/.test(v) ? Number(v) : null;
  };
  const to = at(q.to, Math.ceil(now / dayMs) * dayMs);
  const from = at(q.from, (to ?? now) - 30 * dayMs);
  if (from === null || to === null || from >= to || to - from > 400 * dayMs) return null;
  return { from, to };
}

function fail(reply: FastifyReply, code: keyof typeof measureErrors) {
  const e = measureErrors[code];
  return reply.code(e.status).send({ code, message: e.message });
}

const assetFiles: Record<string, string> = {
  'uPlot.iife.min.js': 'application/javascript; charset=utf-8',
  'uPlot.min.css': 'text/css; charset=utf-8',
};

/**
 * Report routes. JSON: `/api/measure/{creator,advertiser}/:id`, `/api/measure/creator/:id/audience`
 * (downloads by app, device, OS, country, hour; `?metric=plays`: plays by app, device, OS) and `/api/measure/admin`
 * (`?format=csv` for CSV; `from`, `to`, and `window` = calendar | firstTouch | lastTouch).
 * Pages: `/measure/creator/:id`, `/measure/advertiser/:id`, `/measure/admin`.
 */
export function reportRoutes(
  app: FastifyInstance,
  reports: Reports,
  clock: Clock,
  authorize: ReportAuthorizer = denyAllReports,
  viewerOf: ViewerOf<FastifyRequest> = async () => null,
  present: ReportPresentation = {},
): void {
  const require = createRequire(import.meta.url);
  const assets = new Map<string, Buffer>();
  for (const name of Object.keys(assetFiles)) {
    assets.set(name, readFileSync(require.resolve(`uplot/dist/${name}`)));
  }
  app.get<{ Params: { name: string } }>('/measure/assets/:name', async (req, reply) => {
    const body = assets.get(req.params.name);
    if (!body) return fail(reply, 'MEA_NOT_FOUND');
    return reply
      .type(assetFiles[req.params.name] as string)
      .header('cache-control', 'public, max-age=86400')
      .send(body);
  });

  type Req = FastifyRequest<{ Params: { id?: string }; Querystring: Record<string, unknown> }>;
  const common = async (req: Req, reply: FastifyReply, scope: ReportScope) => {
    const access = await authorize(req, scope);
    if (access !== true && access !== 'allowed') {
      const code = access === 'unauthenticated' ? 'MEA_UNAUTHENTICATED' : 'MEA_FORBIDDEN';
      // A browser opening a report page gets a page with a way to log in, not JSON.
      if (!req.url.startsWith('/api/') && wantsHtml(req.headers.accept)) {
        const status = measureErrors[code].status as 401 | 403;
        reply
          .code(status)
          .type('text/html; charset=utf-8')
          .send(messagePage(status, { viewer: await viewerOf(req), what: 'This report', returnTo: req.url }));
      } else fail(reply, code);
      return null;
    }
    const period = parsePeriod(req.query, clock.now());
    const window = (req.query.window ?? 'calendar') as WindowKind;
    if (!period || !windowKinds.includes(window)) {
      fail(reply, 'MEA_BAD_REQUEST');
      return null;
    }
    return { period, window };
  };
  const html = (reply: FastifyReply, body: string) =>
    reply
      .type('text/html; charset=utf-8')
      .header(
        'content-security-policy',
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'",
      )
      .send(body);
  const pageContext = async (req: Req, ids: string[]): Promise<PageContext> => ({
    viewer: await viewerOf(req),
    labels: ids.length && present.labels ? await present.labels(ids).catch(() => new Map()) : new Map(),
    currency: present.currency ?? 'EUR',
    self: new URL(req.url, 'http://x').pathname,
  });
  const csvHref = (req: Req) => {
    const u = new URL(req.url, 'http://x');
    u.searchParams.set('format', 'csv');
    return `${u.pathname.replace(/^\/measure\//, '/api/measure/')}${u.search}`;
  };

  for (const kind of ['creator', 'advertiser'] as const) {
    const load = async (req: Req, reply: FastifyReply) => {
      const id = req.params.id ?? '';
      const c = await common(req, reply, { kind, id });
      if (!c) return null;
      const r =
        kind === 'creator'
          ? await reports.creator(id, c.period, c.window)
          : await reports.advertiser(id, c.period);
      if (!r) {
        fail(reply, 'MEA_NOT_FOUND');
        return null;
      }
      return r;
    };
    app.get(`/api/measure/${kind}/:id`, async (req: Req, reply) => {
      const r = await load(req, reply);
      if (!r) return reply;
      if (req.query.format === 'csv') {
        const body = 'creatorId' in r ? creatorCsv(r) : advertiserCsv(r);
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${kind}-report.csv"`)
          .send(body);
      }
      return r;
    });
    app.get(`/measure/${kind}/:id`, async (req: Req, reply) => {
      const r = await load(req, reply);
      if (!r) return reply;
      const ids =
        'creatorId' in r
          ? r.shows.map((s) => s.showId)
          : [r.advertiserId, ...r.campaigns.map((c) => c.campaignId)];
      const pc = await pageContext(req, ids);
      return html(
        reply,
        'creatorId' in r
          ? creatorPage(
              r,
              csvHref(req),
              pc,
              (await reports.audience(r.creatorId, r.period, r.window)) ?? undefined,
              (await reports.playAudience(r.creatorId, r.period)) ?? undefined,
            )
          : advertiserPage(r, csvHref(req), pc),
      );
    });
  }

  // Audience breakdowns for scripts: JSON, or CSV with ?format=csv; ?episode=<id> for one episode.
  app.get('/api/measure/creator/:id/audience', async (req: Req, reply) => {
    const id = req.params.id ?? '';
    const c = await common(req, reply, { kind: 'creator', id });
    if (!c) return reply;
    const episode = typeof req.query.episode === 'string' && req.query.episode ? req.query.episode : null;
    if (req.query.metric === 'plays') {
      const p = await reports.playAudience(id, c.period, episode);
      if (!p) return fail(reply, 'MEA_NOT_FOUND');
      if (req.query.format === 'csv') {
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="plays-audience.csv"')
          .send(playAudienceCsv(p));
      }
      return p;
    }
    if (req.query.metric !== undefined && req.query.metric !== 'downloads')
      return fail(reply, 'MEA_BAD_REQUEST');
    const r = await reports.audience(id, c.period, c.window, episode);
    if (!r) return fail(reply, 'MEA_NOT_FOUND');
    if (req.query.format === 'csv') {
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="audience.csv"')
        .send(audienceCsv(r));
    }
    return r;
  });

  const admin = async (req: Req, reply: FastifyReply) => {
    const c = await common(req, reply, { kind: 'admin' });
    return c ? reports.admin(c.period) : null;
  };
  app.get('/api/measure/admin', async (req: Req, reply) => {
    const r = await admin(req, reply);
    if (!r) return reply;
    return req.query.format === 'csv' ? reply.type('text/csv; charset=utf-8').send(adminCsv(r)) : r;
  });
  app.get('/measure/admin', async (req: Req, reply) => {
    const r = await admin(req, reply);
    if (!r) return reply;
    return html(reply, adminPage(r, csvHref(req), await pageContext(req, [])));
  });
}

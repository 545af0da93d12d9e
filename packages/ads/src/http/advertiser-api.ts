/**
 * The advertiser API (JSON under /ads/api): advertisers, campaigns, line items, creative
 * approval, and delivery reports. Every route first admits the caller (access.ts: 401 / 403
 * before the body is read), then checks shapes by JSON schema (-> 400 ADS_BAD_REQUEST), and
 * references, ownership and flights by hand (-> 400 / 404; another advertiser's ids are 404
 * like unknown ones). Approval is for admins only.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type AdsErrorCode, adsError, adsErrors } from '../errors.ts';
import type { Campaign, LineItem, Targeting } from '../model.ts';
import { saveAdvertiser, saveCampaign, saveCreative, saveLineItem } from '../persistence.ts';
import { campaignReport } from '../report.ts';
import { admit, principalOf, Scope } from './access.ts';
import type { AdsContext } from './context.ts';

export function fail(reply: FastifyReply, code: AdsErrorCode, detail?: string) {
  return reply.code(adsErrors[code].status).send(adsError(code, detail));
}

/** An `onRequest` hook admitting advertisers and admins (see access.ts). */
export function guard(ctx: AdsContext) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (!(await admit(req, reply, ctx))) return reply;
  };
}

/** What the admitted caller of this request may see. */
export function scopeOf(req: FastifyRequest, ctx: AdsContext): Scope {
  return new Scope(principalOf(req), ctx.store);
}

const id = { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' } as const;
const name = { type: 'string', minLength: 1, maxLength: 200 } as const;
const micros = { type: 'integer', minimum: 0, maximum: 1e15 } as const;
const time = { type: 'integer', minimum: 0, maximum: 1e14 } as const;
const strings = {
  type: 'array',
  maxItems: 500,
  items: { type: 'string', minLength: 1, maxLength: 100 },
} as const;

const campaignBody = {
  type: 'object',
  additionalProperties: false,
  required: ['advertiserId', 'name', 'startsAt', 'endsAt', 'currency', 'totalBudgetMicros'],
  properties: {
    advertiserId: id,
    name,
    startsAt: time,
    endsAt: time,
    currency: { type: 'string', pattern: '^[A-Z]{3}$' },
    totalBudgetMicros: micros,
    dailyBudgetMicros: micros,
    paused: { type: 'boolean' },
  },
} as const;

const targetingSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    showIds: strings,
    categories: strings,
    languages: strings,
    positions: { type: 'array', items: { enum: ['pre', 'mid', 'post'] } },
    countries: { type: 'array', maxItems: 300, items: { type: 'string', pattern: '^[A-Z]{2}$' } },
    devices: {
      type: 'array',
      items: { enum: ['phone', 'tablet', 'computer', 'watch', 'speaker', 'tv', 'car', 'unknown'] },
    },
    dayParts: {
      type: 'array',
      maxItems: 50,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['days', 'fromHour', 'toHour'],
        properties: {
          days: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 6 } },
          fromHour: { type: 'integer', minimum: 0, maximum: 23 },
          toHour: { type: 'integer', minimum: 0, maximum: 24 },
        },
      },
    },
  },
} as const;

const lineItemBody = {
  type: 'object',
  additionalProperties: false,
  required: ['campaignId', 'name', 'priority', 'goal', 'cpmMicros'],
  properties: {
    campaignId: id,
    name,
    priority: { enum: ['sponsorship', 'standard', 'house'] },
    goal: {
      oneOf: [
        {
          type: 'object',
          additionalProperties: false,
          required: ['kind', 'impressions'],
          properties: {
            kind: { const: 'impressions' },
            impressions: { type: 'integer', minimum: 1, maximum: 1e12 },
          },
        },
        {
          type: 'object',
          additionalProperties: false,
          required: ['kind', 'micros'],
          properties: { kind: { const: 'spend' }, micros: { type: 'integer', minimum: 1, maximum: 1e15 } },
        },
      ],
    },
    cpmMicros: micros,
    startsAt: time,
    endsAt: time,
    pacing: { enum: ['even', 'asap'] },
    targeting: targetingSchema,
    caps: {
      type: 'array',
      maxItems: 10,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['max', 'periodMs'],
        properties: {
          max: { type: 'integer', minimum: 1, maximum: 1e6 },
          periodMs: { type: 'integer', minimum: 1000, maximum: 366 * 86_400_000 },
        },
      },
    },
    exclusionCategories: strings,
    creativeIds: { type: 'array', maxItems: 100, items: id },
    paused: { type: 'boolean' },
  },
} as const;

export function advertiserApi(app: FastifyInstance, ctx: AdsContext): void {
  const { store } = ctx;
  const onRequest = guard(ctx);

  app.post('/ads/api/advertisers', {
    onRequest,
    schema: {
      body: { type: 'object', additionalProperties: false, required: ['name'], properties: { name } },
    },
    handler: async (req, reply) => {
      const p = principalOf(req);
      // An advertiser account owns what it creates; an admin's advertisers are admin-only.
      const a = {
        id: ctx.newId(),
        name: (req.body as { name: string }).name,
        ...(p.role === 'advertiser' ? { ownerAccountId: p.accountId } : {}),
      };
      if (ctx.db) await saveAdvertiser(ctx.db, a);
      ctx.modelChanged?.();
      store.putAdvertiser(a);
      return reply.code(201).send(a);
    },
  });

  app.get('/ads/api/advertisers', { onRequest }, async (req) => {
    const scope = scopeOf(req, ctx);
    return { advertisers: [...store.advertisers.values()].filter((a) => scope.ownsAdvertiser(a)) };
  });

  app.post('/ads/api/campaigns', {
    onRequest,
    schema: { body: campaignBody },
    handler: async (req, reply) => {
      const b = req.body as Omit<Campaign, 'id' | 'dailyBudgetMicros' | 'paused'> & Partial<Campaign>;
      if (!scopeOf(req, ctx).advertiser(b.advertiserId))
        return fail(reply, 'ADS_NOT_FOUND', `advertiser ${b.advertiserId}`);
      if (b.endsAt <= b.startsAt) return fail(reply, 'ADS_BAD_REQUEST', 'endsAt must be after startsAt');
      const c: Campaign = { dailyBudgetMicros: 0, paused: false, ...b, id: ctx.newId() };
      if (ctx.db) await saveCampaign(ctx.db, c);
      ctx.modelChanged?.();
      store.putCampaign(c);
      return reply.code(201).send(c);
    },
  });

  app.post('/ads/api/line-items', {
    onRequest,
    schema: { body: lineItemBody },
    handler: async (req, reply) => {
      const b = req.body as Pick<LineItem, 'campaignId' | 'name' | 'priority' | 'goal' | 'cpmMicros'> &
        Partial<LineItem>;
      const campaign = scopeOf(req, ctx).campaign(b.campaignId);
      if (!campaign) return fail(reply, 'ADS_NOT_FOUND', `campaign ${b.campaignId}`);
      for (const cid of b.creativeIds ?? []) {
        const cr = store.creatives.get(cid);
        if (!cr || cr.advertiserId !== campaign.advertiserId)
          return fail(reply, 'ADS_NOT_FOUND', `creative ${cid}`);
      }
      if (b.startsAt !== undefined && b.endsAt !== undefined && b.endsAt <= b.startsAt) {
        return fail(reply, 'ADS_BAD_REQUEST', 'endsAt must be after startsAt');
      }
      const li: LineItem = {
        targeting: {},
        caps: [],
        pacing: b.priority === 'house' ? 'asap' : 'even',
        exclusionCategories: [],
        creativeIds: [],
        paused: false,
        ...b,
        id: ctx.newId(),
      };
      if (ctx.db) await saveLineItem(ctx.db, li);
      ctx.modelChanged?.();
      store.putLineItem(li);
      return reply.code(201).send(li);
    },
  });

  app.post('/ads/api/line-items/:id/state', {
    onRequest,
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['paused'],
        properties: { paused: { type: 'boolean' } },
      },
    },
    handler: async (req, reply) => {
      const li = scopeOf(req, ctx).lineItem((req.params as { id: string }).id);
      if (!li) return fail(reply, 'ADS_NOT_FOUND');
      const next = { ...li, paused: (req.body as { paused: boolean }).paused };
      if (ctx.db) await saveLineItem(ctx.db, next);
      ctx.modelChanged?.();
      store.putLineItem(next);
      return next;
    },
  });

  // The advertiser's own settings of a creative (the media and its approval stay).
  app.post('/ads/api/creatives/:id/settings', {
    onRequest,
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['skipOffsetMs'],
        properties: { skipOffsetMs: { type: ['integer', 'null'], minimum: 0, maximum: 180_000 } },
      },
    },
    handler: async (req, reply) => {
      const cr = scopeOf(req, ctx).creative((req.params as { id: string }).id);
      if (!cr) return fail(reply, 'ADS_NOT_FOUND');
      const skip = (req.body as { skipOffsetMs: number | null }).skipOffsetMs;
      if (skip !== null && skip >= cr.durationMs) {
        return fail(reply, 'ADS_BAD_REQUEST', 'skipOffsetMs must be less than the ad length');
      }
      const { skipOffsetMs: _old, ...rest } = cr;
      const next = skip === null ? rest : { ...rest, skipOffsetMs: skip };
      if (ctx.db) await saveCreative(ctx.db, next);
      ctx.modelChanged?.();
      store.putCreative(next);
      return ctx.present(next);
    },
  });

  app.post('/ads/api/creatives/:id/approval', {
    onRequest,
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['state'],
        properties: {
          state: { enum: ['approved', 'rejected', 'pending'] },
          // Sent back to the advertiser with the decision (e.g. why a creative was rejected).
          reason: { type: 'string', maxLength: 500 },
        },
      },
    },
    handler: async (req, reply) => {
      if (principalOf(req).role !== 'admin') return fail(reply, 'ADS_FORBIDDEN');
      const cr = store.creatives.get((req.params as { id: string }).id);
      if (!cr) return fail(reply, 'ADS_NOT_FOUND');
      const b = req.body as { state: 'approved' | 'rejected' | 'pending'; reason?: string };
      const reason = b.reason?.trim();
      const { approvalReason: _previous, ...rest } = cr;
      const next = { ...rest, approval: b.state, ...(reason ? { approvalReason: reason } : {}) };
      if (ctx.db) await saveCreative(ctx.db, next);
      ctx.modelChanged?.();
      store.putCreative(next);
      return ctx.present(next);
    },
  });

  app.get('/ads/api/campaigns', { onRequest }, async (req) => {
    const scope = scopeOf(req, ctx);
    return { campaigns: [...store.campaigns.values()].filter((c) => scope.campaign(c.id)) };
  });
  app.get('/ads/api/line-items', { onRequest }, async (req) => {
    const scope = scopeOf(req, ctx);
    return { lineItems: [...store.lineItems.values()].filter((li) => scope.lineItem(li.id)) };
  });
  app.get('/ads/api/creatives', { onRequest }, async (req) => {
    const scope = scopeOf(req, ctx);
    return {
      creatives: [...store.creatives.values()].filter((c) => scope.creative(c.id)).map((c) => ctx.present(c)),
    };
  });

  // Availability before booking: how many breaks of the last 7 days the targeting matches.
  app.post('/ads/api/availability', {
    onRequest,
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['targeting'],
        properties: { targeting: targetingSchema },
      },
    },
    handler: async (req) =>
      store.inventory.availability((req.body as { targeting: Targeting }).targeting, ctx.clock.now()),
  });

  // The shows an advertiser may target, by name (the catalog's, through the node).
  app.get('/ads/api/shows', { onRequest }, async () => ({ shows: await ctx.shows() }));

  app.get('/ads/api/campaigns/:id/report', { onRequest }, async (req, reply) => {
    const c = scopeOf(req, ctx).campaign((req.params as { id: string }).id);
    const r = c ? campaignReport(store, c.id, ctx.clock.now(), await ctx.figures([c.id])) : null;
    return r ?? fail(reply, 'ADS_NOT_FOUND');
  });
}

/**
 * Who may use the advertiser side (API under /ads/api, pages under /ads/dashboard) and what
 * they may see. Accounts are the catalog's: the node injects `auth`, which turns a request's
 * session cookie or API token into a principal. The admin token counts as an admin.
 *
 * Rules: no principal -> 401; a creator account -> 403; an advertiser account sees and
 * changes only advertisers it owns and everything under them (others' ids answer 404, the
 * same as ids that do not exist, so ids do not leak); an admin sees everything and alone
 * approves creatives. A change that rides on a session cookie must come from a page of this
 * host (Origin check; the cookie is SameSite=Lax as well).
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type AdsErrorCode, adsError, adsErrors } from '../errors.ts';
import type { Advertiser } from '../model.ts';
import type { AdsStore } from '../store.ts';

export interface AdsPrincipal {
  accountId: string;
  role: 'advertiser' | 'admin' | 'creator';
  /** How the request proved it: a browser session (cookie) or a token (scripts). */
  via: 'session' | 'token';
}

/** The node's account check: the catalog account behind the request, or null. */
export type AdsAuth = (req: FastifyRequest) => Promise<AdsPrincipal | null>;

const principals = new WeakMap<FastifyRequest, AdsPrincipal>();

export function isAdminToken(req: FastifyRequest, adminToken: string): boolean {
  const got = Buffer.from(String(req.headers.authorization ?? ''));
  const want = Buffer.from(`Bearer ${adminToken}`);
  return adminToken.length > 0 && got.length === want.length && timingSafeEqual(got, want);
}

/**
 * Resolves and checks the principal of an advertiser-side request; answers the failure
 * itself and returns null when the request may not go on.
 */
export async function admit(
  req: FastifyRequest,
  reply: FastifyReply,
  o: { adminToken: string; auth?: AdsAuth | undefined },
  refuseWith: (reply: FastifyReply, code: AdsErrorCode) => unknown = (r, code) =>
    r.code(adsErrors[code].status).send(adsError(code)),
): Promise<AdsPrincipal | null> {
  const known = principals.get(req);
  if (known) return known;
  const p: AdsPrincipal | null = isAdminToken(req, o.adminToken)
    ? { accountId: 'admin-token', role: 'admin', via: 'token' }
    : ((await o.auth?.(req)) ?? null);
  const refuse = (code: AdsErrorCode) => {
    refuseWith(reply, code);
    return null;
  };
  if (!p) return refuse('ADS_UNAUTHENTICATED');
  if (p.role !== 'advertiser' && p.role !== 'admin') return refuse('ADS_NOT_ADVERTISER');
  if (p.via === 'session' && req.method !== 'GET' && req.method !== 'HEAD' && !sameOrigin(req)) {
    return refuse('ADS_CROSS_ORIGIN');
  }
  principals.set(req, p);
  return p;
}

/** The principal `admit` accepted for this request (handlers run after it). */
export function principalOf(req: FastifyRequest): AdsPrincipal {
  const p = principals.get(req);
  if (!p) throw new Error('advertiser-side route reached without admit()');
  return p;
}

function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  // Browsers send Origin on every cross-site POST; none at all means not a browser form.
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/** What one principal may see: ids of its advertisers, or everything for an admin. */
export class Scope {
  constructor(
    readonly principal: AdsPrincipal,
    private readonly store: AdsStore,
  ) {}

  get isAdmin(): boolean {
    return this.principal.role === 'admin';
  }

  ownsAdvertiser(a: Advertiser | undefined): a is Advertiser {
    return !!a && (this.isAdmin || a.ownerAccountId === this.principal.accountId);
  }

  advertiser(id: string | undefined) {
    const a = id === undefined ? undefined : this.store.advertisers.get(id);
    return this.ownsAdvertiser(a) ? a : undefined;
  }

  campaign(id: string | undefined) {
    const c = id === undefined ? undefined : this.store.campaigns.get(id);
    return c && this.advertiser(c.advertiserId) ? c : undefined;
  }

  lineItem(id: string | undefined) {
    const li = id === undefined ? undefined : this.store.lineItems.get(id);
    return li && this.campaign(li.campaignId) ? li : undefined;
  }

  creative(id: string | undefined) {
    const cr = id === undefined ? undefined : this.store.creatives.get(id);
    return cr && this.advertiser(cr.advertiserId) ? cr : undefined;
  }
}

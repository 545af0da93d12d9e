/**
 * Who may read which measurement report on a node (measurement's `authorize` port): the
 * catalog's accounts, web sessions and API tokens, the way the portal checks them.
 *
 * - no valid credentials: `unauthenticated` (401);
 * - an admin account, or the node's admin token as `Authorization: Bearer`: everything;
 * - a creator: only their own creator report (its shows and episodes are theirs: the
 *   report's creator id is the shows' owner account);
 * - an advertiser: only the advertisers their account owns (the ad server's `ownsAdvertiser`);
 * - anything else: `forbidden` (403).
 */
import { timingSafeEqual } from 'node:crypto';
import { ownsAdvertiser } from '@swarmcast/ads';
import type { CatalogContext } from '@swarmcast/catalog';
import type { ReportAccess, ReportScope } from '@swarmcast/measure';
import { whoIs } from '@swarmcast/web';
import type { FastifyRequest } from 'fastify';

export function measureAccess(
  catalog: Pick<CatalogContext, 'db' | 'clock'>,
  adminToken: string,
): (req: FastifyRequest, scope: ReportScope) => Promise<ReportAccess> {
  const admin = Buffer.from(`Bearer ${adminToken}`);
  const isAdminToken = (req: FastifyRequest) => {
    const got = Buffer.from(req.headers.authorization ?? '');
    return adminToken.length > 0 && got.length === admin.length && timingSafeEqual(got, admin);
  };
  return async (req, scope) => {
    if (isAdminToken(req)) return 'allowed';
    const account = await whoIs(catalog, req);
    if (!account) return 'unauthenticated';
    if (account.role === 'admin') return 'allowed';
    if (scope.kind === 'creator') {
      return account.role === 'creator' && account.id === scope.id ? 'allowed' : 'forbidden';
    }
    if (scope.kind === 'advertiser' && account.role === 'advertiser') {
      // The ad server records the account that owns each advertiser (house ads: nobody).
      return (await ownsAdvertiser(catalog.db, scope.id, account.id)) ? 'allowed' : 'forbidden';
    }
    return 'forbidden';
  };
}

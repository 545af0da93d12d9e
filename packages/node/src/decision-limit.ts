import { addressGroup, type RateRule } from '@swarmcast/tracker';
import { processSharedState, type SharedState } from '@swarmcast/web';
import type { FastifyInstance } from 'fastify';

/**
 * Ad decisions (`/ads/vast`, `/ads/vmap`) per source address (IPv6 per /64): a player asks
 * a handful per episode, a script asking thousands a second is refused with 429 before any
 * decision is made, reserved or counted. The buckets are the node's shared state (Redis
 * with REDIS_URL), so N web processes together allow the rate once, not N times.
 */
export const defaultDecisionRate: RateRule = { perSecond: 5, burst: 60 };

const decisionPaths = ['/ads/vast', '/ads/vmap'];

export function limitDecisions(
  app: FastifyInstance,
  rule: RateRule = defaultDecisionRate,
  shared: SharedState = processSharedState(),
): void {
  const limiter = shared.rateLimiter('decisions', rule, 100_000);
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    if (!decisionPaths.includes(path)) return;
    if (await limiter.allow(addressGroup(req.ip), Date.now())) return;
    return reply
      .code(429)
      .header('retry-after', '10')
      .send({
        error: { code: 'ADS_RATE_LIMITED', message: 'too many ad requests from this address; slow down' },
      });
  });
}

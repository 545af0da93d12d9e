import { createHmac } from 'node:crypto';
import type { AudienceKey } from '@swarmcast/platform';
import type { EdgeClassifier } from '../../src/collect/collector.ts';
import { crawler, human } from './world.ts';

/**
 * A plain edge for tests: HMAC of (ip, user agent) under a fixed salt; "bot" in the user
 * agent marks a crawler, "dc" in it a data-centre address. The node wires the platform's
 * audience keys, OPAWG classes and address lists instead.
 */
export const testEdge: EdgeClassifier = (ip, ua) => ({
  audienceKey: createHmac('sha256', 'test-salt').update(`${ip}\u0000${ua}`).digest('hex') as AudienceKey,
  client: /bot/i.test(ua) ? crawler : human,
  datacenter: /\bdc\b/.test(ua),
});

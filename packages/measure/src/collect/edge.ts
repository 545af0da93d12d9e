import { type AddressClassifier, type AudienceKeys, classifyUserAgent } from '@swarmcast/platform';
import type { EdgeClassifier } from './collector.ts';

/**
 * The node's edge classification of a beacon's sender: the day's audience key (salted HMAC
 * of address prefix and user agent), the user agent's client class, and whether the address
 * is in a listed data centre. One composition for the node and the beacon benches, so a
 * bench pays per beacon what the node pays.
 */
export function edgeClassifier(audience: AudienceKeys, datacenters: AddressClassifier): EdgeClassifier {
  return async (ip, userAgent, now) => ({
    audienceKey: await audience.audienceKey(ip, userAgent, now),
    client: classifyUserAgent(userAgent),
    datacenter: datacenters.isDatacenter(ip),
  });
}

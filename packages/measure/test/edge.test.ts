import {
  audienceKeyWithSalt,
  classifyUserAgent,
  createAudienceKeys,
  memorySaltStore,
  parseAddressList,
} from '@swarmcast/platform';
import { describe, expect, it } from 'vitest';
import { edgeClassifier } from '../src/collect/edge.ts';

describe('edgeClassifier (the node edge of beacons)', () => {
  it("gives the day's audience key, the client class and the data-centre flag", async () => {
    const salt = new Uint8Array(32).fill(9);
    const edge = edgeClassifier(
      createAudienceKeys(memorySaltStore(() => salt)),
      parseAddressList('203.0.113.0/24\n', 'test list'),
    );
    const ua = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0.0.0 Safari/537.36';
    const now = Date.UTC(2026, 11, 8, 12);
    expect(await edge('203.0.113.5', ua, now)).toEqual({
      audienceKey: audienceKeyWithSalt(salt, '203.0.113.5', ua),
      client: classifyUserAgent(ua),
      datacenter: true,
    });
    expect((await edge('198.51.100.1', ua, now)).datacenter).toBe(false);
  });
});

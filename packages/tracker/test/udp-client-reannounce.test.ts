import { randomBytes } from 'node:crypto';
import { UdpTracker } from '@swarmcast/bittorrent/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningTracker, runStandaloneTracker } from '../src/standalone.ts';

/**
 * Our BEP 15 client against our tracker. The tracker binds a connection id to the address
 * and port it was issued to; the client sends each request from a socket of its own (a new
 * port), so an id kept from an earlier request was dropped unanswered. Every announce after
 * the first then timed out, a seeder's `stopped` included: a node's stop waited 5 s for it.
 */
describe('our UDP tracker client, announcing twice to our tracker', () => {
  let t: RunningTracker;
  beforeAll(async () => {
    t = await runStandaloneTracker({ port: 0, host: '127.0.0.1', rateLimit: null });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('the second announce (a stopped) is answered too, at once', async () => {
    const client = new UdpTracker(`udp://127.0.0.1:${t.port}/announce`, {
      baseTimeoutMs: 2_000,
      maxAttempts: 1,
    });
    const params = {
      infoHash: new Uint8Array(randomBytes(20)),
      peerId: new Uint8Array(randomBytes(20)),
      port: 6881,
      uploaded: 0,
      downloaded: 0,
      left: 0,
    };
    const started = await client.announce({ ...params, event: 'started' });
    expect(started.ok).toBe(true);
    const t0 = performance.now();
    const stopped = await client.announce({ ...params, event: 'stopped', numwant: 0 });
    expect(stopped.ok ? 'answered' : stopped.error.message).toBe('answered');
    expect(performance.now() - t0).toBeLessThan(1_500);
  });
});

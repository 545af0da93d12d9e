/**
 * Fill-rate events on the real (embedded) measurement stream: an `ads.opportunity` per break
 * and second, summing that second's requests for a known break, filled or not, shaped as
 * measurement reads it; none for bad requests or unknown breaks.
 */
import { type EventStream, ManualClock, openEventStream, type StreamEvent } from '@swarmcast/platform';
import { scratchDir, waitFor } from '@swarmcast/testkit';
import Fastify from 'fastify';
import { expect, it } from 'vitest';
import {
  AdsStore,
  adsPlugin,
  generateSigningKey,
  keyRing,
  OpportunityPublisher,
  opportunitySubject,
} from '../src/index.ts';
import { campaign, creative, episode, episodeLookup, lineItem, t0 } from './helpers.ts';

it('publishes an ads.opportunity per break request, filled or not', async () => {
  const dir = await scratchDir('ads-opportunities-');
  const stream = await openEventStream({ dataDir: dir.path });
  try {
    const store = new AdsStore();
    store.putCampaign(campaign('c1'));
    store.putCreative(creative('cr-mid', { durationMs: 20_000 }));
    // Serves mid-rolls only: pre-rolls go unfilled.
    store.putLineItem(lineItem('mid', 'c1', { targeting: { positions: ['mid'] } }));
    const app = Fastify();
    await app.register(adsPlugin, {
      episodes: episodeLookup([episode()]),
      keys: () => keyRing(generateSigningKey('k')),
      clock: new ManualClock(t0 + 3_600_000),
      publicUrl: 'https://node.example',
      mediaDir: dir.path,
      adminToken: '',
      store,
      stream,
    });
    await app.ready();
    for (const url of [
      '/ads/vast?episode=ep-1&break=mid-1&lid=listener-0001',
      '/ads/vast?episode=ep-1&break=pre&lid=listener-0001',
      '/ads/vast?episode=ep-1&break=mid-2&lid=listener-0002',
      '/ads/vast?episode=ep-1&break=nope', // unknown break: no opportunity
      '/ads/vast?episode=nope&break=pre', // unknown episode: none
      '/ads/vast?episode=ep-1', // malformed: none
    ]) {
      expect((await app.inject({ url })).statusCode).toBeLessThan(500);
    }
    await app.close(); // flushes what is queued

    const seen: StreamEvent[] = [];
    const consumer = await stream.consume(
      'ads-opportunity-test',
      async (events) => {
        seen.push(...events);
      },
      { subjects: [opportunitySubject], batchSize: 1 },
    );
    await waitFor(() => seen.length >= 3, 15_000, `three opportunities (seen ${seen.length})`);
    await consumer.stop();
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((e) => e.id)).size).toBe(3);
    for (const e of seen) {
      expect(e.subject).toBe('ads.opportunity');
      expect((e.data as { id: string }).id).toBe(e.id);
    }
    expect(seen.map((e) => e.data)).toEqual([
      expect.objectContaining({
        kind: 'opportunity',
        time: t0 + 3_600_000,
        episodeId: 'ep-1',
        breakId: 'mid-1',
        slots: 3,
        filled: 1,
      }),
      expect.objectContaining({
        kind: 'opportunity',
        episodeId: 'ep-1',
        breakId: 'pre',
        slots: 1,
        filled: 0,
      }),
      expect.objectContaining({
        kind: 'opportunity',
        episodeId: 'ep-1',
        breakId: 'mid-2',
        slots: 2,
        filled: 1,
      }),
    ]);
  } finally {
    await stream.close();
    await dir.remove();
  }
});

it('sums the requests for one break within one second into one event', async () => {
  const dir = await scratchDir('ads-opportunities-sum-');
  const stream = await openEventStream({ dataDir: dir.path });
  try {
    const publisher = new OpportunityPublisher({ stream });
    const second = t0 + 3_600_000;
    const asked = (time: number, breakId: string, filled: number) =>
      publisher.record({ time, episodeId: 'ep-1', breakId, slots: 3, filled });
    asked(second, 'mid-1', 1);
    asked(second + 400, 'mid-1', 3);
    asked(second + 999, 'mid-1', 0);
    asked(second + 500, 'pre', 1); // another break: its own event
    asked(second + 1000, 'mid-1', 2); // the next second: its own event
    await publisher.close();
    expect(publisher.counts).toEqual({ published: 3, dropped: 0, failedBatches: 0 });
    const seen = await read(stream, 3);
    expect(seen.map((e) => e.data)).toEqual([
      expect.objectContaining({ time: second, breakId: 'mid-1', slots: 9, filled: 4 }),
      expect.objectContaining({ time: second + 500, breakId: 'pre', slots: 3, filled: 1 }),
      expect.objectContaining({ time: second + 1000, breakId: 'mid-1', slots: 3, filled: 2 }),
    ]);
  } finally {
    await stream.close();
    await dir.remove();
  }
});

async function read(stream: EventStream, n: number): Promise<StreamEvent[]> {
  const seen: StreamEvent[] = [];
  const consumer = await stream.consume(
    'ads-opportunity-sum-test',
    async (events) => {
      seen.push(...events);
    },
    { subjects: [opportunitySubject], batchSize: 10 },
  );
  await waitFor(() => seen.length >= n, 15_000, `${n} opportunities (seen ${seen.length})`);
  await consumer.stop();
  return seen;
}

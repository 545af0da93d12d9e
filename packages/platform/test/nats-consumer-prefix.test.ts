import { requireServices, serviceUrl, waitFor } from '@swarmcast/testkit';
import { connect } from 'nats';
import { afterAll, describe, expect, it } from 'vitest';
import { openEventStream } from '../src/index.ts';

/**
 * SWARMCAST_NATS_CONSUMER (issue 19): two deployments reading one stream under different
 * consumer-name prefixes are separate durable consumers, so each sees every event; with one
 * prefix they would share (and split) the events.
 */
const nats = await requireServices('NATS consumer-name prefixes', 'nats');
const stream = `SC_PFX_${process.pid}_${Date.now().toString(36)}`;

describe.skipIf(nats.skip)('NATS consumer-name prefix', () => {
  afterAll(async () => {
    const nc = await connect({ servers: serviceUrl('nats') });
    await (await nc.jetstreamManager()).streams.delete(stream).catch(() => {});
    await nc.close();
  });

  it('two prefixes each see every event of one stream', async () => {
    const open = (consumerPrefix: string) =>
      openEventStream({
        natsUrl: serviceUrl('nats'),
        streamName: stream,
        subjectPrefix: stream.toLowerCase(),
        consumerPrefix,
      });
    const main = await open('main-');
    const shadow = await open('shadow-');
    const events = Array.from({ length: 5 }, (_, i) => ({
      id: `e${i}`,
      subject: 'fact.download',
      data: { i },
    }));
    await main.publish(events);
    const seen = { main: new Set<string>(), shadow: new Set<string>() };
    const a = await main.consume('measure', async (es) => {
      for (const e of es) seen.main.add(e.id);
    });
    const b = await shadow.consume('measure', async (es) => {
      for (const e of es) seen.shadow.add(e.id);
    });
    await waitFor(() => seen.main.size === 5 && seen.shadow.size === 5, 60_000, 'both prefixes to see all 5');
    expect([...seen.main].sort()).toEqual(events.map((e) => e.id));
    expect([...seen.shadow].sort()).toEqual(events.map((e) => e.id));
    const nc = await connect({ servers: serviceUrl('nats') });
    const names: string[] = [];
    for await (const c of (await nc.jetstreamManager()).consumers.list(stream)) names.push(c.name);
    await nc.close();
    expect(names.sort()).toEqual(['main-measure', 'shadow-measure']);
    await a.stop();
    await b.stop();
    await main.close();
    await shadow.close();
  }, 90_000);
});

import { freePort, ownNats, requireBinaries, scratchDir } from '@swarmcast/testkit';
import { describe, expect, it } from 'vitest';
import { openNatsStream } from '../src/stream/nats-stream.ts';

/**
 * Fault injection: the NATS JetStream server under the event stream is killed (SIGKILL) and
 * started again on the same store (a nats-server this test owns, on its own port) while
 * events are published and consumed. Publishing fails or waits during the outage, the
 * client reconnects by itself, and every acknowledged event reaches the consumer.
 */
const binaries = requireBinaries('NATS restart under publish load', 'nats-server');
const until = async (check: () => boolean, what: string, ms = 60_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe.skipIf(binaries.skip)('fault: NATS restarts under publish load', () => {
  it('every acknowledged event is consumed after the server comes back', async () => {
    const dir = await scratchDir('faults-nats-');
    const nats = await ownNats(await freePort(), dir.path);
    const stream = await openNatsStream({ natsUrl: nats.url, streamName: 'FAULTS' });
    const acked = new Set<string>();
    const seen = new Set<string>();
    let sent = 0;
    let refused = 0;
    let stop = false;
    try {
      const consumer = await stream.consume('faults', async (events) => {
        for (const e of events) seen.add(e.id);
      });
      const load = (async () => {
        for (let i = 0; !stop && i < 50_000; i++) {
          sent++;
          const id = `e-${i}`;
          try {
            await stream.publish([{ id, subject: 'beacon.play', data: { i } }]);
            acked.add(id);
          } catch {
            refused++;
            await new Promise((r) => setTimeout(r, 50));
          }
        }
      })();
      await until(() => acked.size >= 50, 'events before the outage');
      await nats.kill();
      // The outage lasts two seconds: its length is the fault, not a wait for an event.
      await new Promise((r) => setTimeout(r, 2000));
      await nats.restart();
      const ackedBefore = acked.size;
      await until(() => acked.size >= ackedBefore + 50, 'publishing again after the restart');
      stop = true;
      await load;
      await until(() => [...acked].every((id) => seen.has(id)), 'every acknowledged event consumed');
      const lost = [...acked].filter((id) => !seen.has(id));
      console.log(
        `[fault nats-restart] events sent ${sent}: acknowledged ${acked.size}, refused during the outage ${refused}, consumed ${seen.size}, lost ${lost.length}`,
      );
      expect(lost).toEqual([]);
      await consumer.stop();
    } finally {
      stop = true;
      await stream.close().catch(() => {});
      await nats.stop();
      await dir.remove();
    }
  }, 180_000);
});

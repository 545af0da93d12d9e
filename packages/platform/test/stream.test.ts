import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { requireServices, scratchDir, serviceUrl, waitFor } from '@swarmcast/testkit';
import { connect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EventStream,
  type OpenEventStreamOptions,
  openEventStream,
  PlatformError,
  type StreamEvent,
} from '../src/index.ts';

/**
 * The contract of EventStream, run against both engines: the embedded write-ahead stream in
 * a temp dir and NATS JetStream on 127.0.0.1 (a fresh stream per run, deleted after).
 */
const natsPrereq = await requireServices('event stream suite on NATS JetStream', 'nats');

interface Engine {
  name: string;
  skip: boolean;
  setup(): Promise<void>;
  options(): OpenEventStreamOptions;
  teardown(): Promise<void>;
}

function embedded(): Engine {
  let dir: { path: string; remove(): Promise<void> } | undefined;
  return {
    name: 'embedded',
    skip: false,
    async setup() {
      dir = await scratchDir('swarmcast-stream-');
    },
    options: () => ({ dataDir: dir!.path, segmentBytes: 64 * 1024 }),
    teardown: async () => dir?.remove(),
  };
}

function nats(): Engine {
  const tag = `T${Date.now().toString(36)}${randomBytes(3).toString('hex')}`.toUpperCase();
  return {
    name: 'nats',
    skip: natsPrereq.skip,
    async setup() {},
    options: () => ({
      natsUrl: serviceUrl('nats'),
      streamName: `SC_${tag}`,
      subjectPrefix: `sc${tag.toLowerCase()}`,
      ackWaitMs: 2000,
    }),
    async teardown() {
      const nc = await connect({ servers: serviceUrl('nats') });
      const jsm = await nc.jetstreamManager();
      await jsm.streams.delete(`SC_${tag}`).catch(() => {});
      await nc.close();
    },
  };
}

const events = (prefix: string, n: number, subject = 'fact.download'): StreamEvent[] =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, subject, data: { i, prefix } }));

/** Collects what a group receives, by id. */
function collector() {
  const seen: string[] = [];
  return {
    seen,
    ids: () => new Set(seen),
    handler: async (batch: StreamEvent[]) => {
      for (const e of batch) seen.push(e.id);
    },
  };
}

const children: ChildProcess[] = [];
function child(mode: string, options: object): { proc: ChildProcess; lines: string[] } {
  const script = join(import.meta.dirname, 'support', 'stream-child.ts');
  const proc = spawn(process.execPath, ['--import', 'tsx', script, mode, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(proc);
  const lines: string[] = [];
  let rest = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString('utf8')).split('\n');
    rest = parts.pop()!;
    lines.push(...parts);
  });
  return { proc, lines };
}
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

async function kill(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGKILL');
  await exited;
}

for (const engine of [embedded(), nats()]) {
  describe.skipIf(engine.skip)(`event stream on ${engine.name}`, () => {
    let stream: EventStream;
    beforeAll(async () => {
      await engine.setup();
      stream = await openEventStream(engine.options());
    });
    afterAll(async () => {
      await stream?.close();
      await engine.teardown();
    });

    it('delivers every published event to a consumer', async () => {
      const c = collector();
      const consumer = await stream.consume('basic', c.handler, { subjects: ['basic.'] });
      await stream.publish(events('b', 300, 'basic.one'));
      await stream.publish(events('b2', 200, 'basic.two'));
      await waitFor(() => c.ids().size === 500, 15_000, 'all 500 events');
      await consumer.stop();
      const first = c.seen.find((id) => id === 'b-7');
      expect(first).toBe('b-7');
    });

    it('hands over a partial batch at once rather than waiting to fill it', async () => {
      const c = collector();
      const consumer = await stream.consume('partial', c.handler, { subjects: ['partial.'], batchSize: 500 });
      await stream.publish(events('p', 30, 'partial.x'));
      await stream.publish(events('q', 3, 'partial.x'));
      // Far below the JetStream pull expiry (30 s) that once held a tail batch back.
      await waitFor(() => c.ids().size === 33, 5_000, 'the 33 events of two small publishes');
      await consumer.stop();
    });

    it.skipIf(engine.name !== 'nats')('drops a republished event id within the dedupe window', async () => {
      const c = collector();
      const consumer = await stream.consume('dedupe', c.handler, { subjects: ['dedupe.'] });
      const once = events('d', 10, 'dedupe.x');
      await stream.publish(once);
      await stream.publish(once); // a producer retrying after a lost acknowledgement
      await stream.publish(events('e', 1, 'dedupe.x'));
      await waitFor(() => c.ids().has('e-0'), 10_000, 'the marker event after the duplicates');
      await waitFor(async () => (await consumer.pending()) === 0, 10_000, 'no lag');
      expect(c.seen.filter((id) => id.startsWith('d-'))).toHaveLength(10);
      await consumer.stop();
    });

    it('redelivers a batch whose handler threw', async () => {
      let failures = 0;
      const c = collector();
      const consumer = await stream.consume(
        'flaky',
        async (batch) => {
          if (failures < 2) {
            failures++;
            throw new Error('transient');
          }
          await c.handler(batch);
        },
        { subjects: ['flaky.'] },
      );
      await stream.publish(events('f', 50, 'flaky.x'));
      await waitFor(() => c.ids().size === 50, 15_000, 'all flaky events after redelivery');
      expect(failures).toBe(2);
      await consumer.stop();
    });

    it('hands a stopped consumer’s unacknowledged batch to another consumer of the group', async () => {
      let stuck: (() => void) | undefined;
      const gotBatch = new Promise<void>((resolve) => {
        stuck = resolve;
      });
      const a = await stream.consume(
        'crash',
        async () => {
          stuck?.();
          await new Promise(() => {}); // a consumer that dies mid-batch never acks
        },
        { subjects: ['crash.'], batchSize: 10 },
      );
      await stream.publish(events('c', 40, 'crash.x'));
      await gotBatch;
      await a.stop();
      const c = collector();
      const b = await stream.consume('crash', c.handler, { subjects: ['crash.'] });
      await waitFor(() => c.ids().size === 40, 20_000, 'all crash events in the second consumer');
      await waitFor(async () => (await b.pending()) === 0, 10_000, 'no lag left');
      await b.stop();
    });

    it('gives every group every event, and shares a group between its consumers', async () => {
      const g1a = collector();
      const g1b = collector();
      const g2 = collector();
      const c1 = await stream.consume('groupone', g1a.handler, { subjects: ['groups.'], batchSize: 5 });
      const c2 = await stream.consume('groupone', g1b.handler, { subjects: ['groups.'], batchSize: 5 });
      const c3 = await stream.consume('grouptwo', g2.handler, { subjects: ['groups.'] });
      for (let k = 0; k < 10; k++) await stream.publish(events(`g${k}`, 30, 'groups.x'));
      await waitFor(() => g2.ids().size === 300, 15_000, 'group two sees all');
      await waitFor(
        () => new Set([...g1a.seen, ...g1b.seen]).size === 300,
        15_000,
        'group one sees all between its consumers',
      );
      // Shared, not copied: without failures each event goes to one consumer of the group.
      expect(g1a.seen.length + g1b.seen.length).toBe(300);
      await Promise.all([c1.stop(), c2.stop(), c3.stop()]);
    });

    it('reports the lag of a group with pending()', async () => {
      let open: () => void = () => {};
      const gate = new Promise<void>((r) => {
        open = r;
      });
      const c = collector();
      const consumer = await stream.consume(
        'lag',
        async (batch) => {
          await gate;
          await c.handler(batch);
        },
        { subjects: ['lag.'], batchSize: 10 },
      );
      await stream.publish(events('l', 120, 'lag.x'));
      await waitFor(async () => (await consumer.pending()) === 120, 10_000, 'pending = 120 while blocked');
      open();
      await waitFor(async () => (await consumer.pending()) === 0, 15_000, 'pending drops to 0');
      expect(c.ids().size).toBe(120);
      await consumer.stop();
    });

    it('refuses malformed events and bad group names with coded errors', async () => {
      const bad = [
        [{ id: '', subject: 'x.y', data: 1 }],
        [{ id: 'a', subject: 'has space', data: 1 }],
        [{ id: 'a', subject: 'wild.>', data: 1 }],
        [{ id: 'a', subject: 'x.y', data: undefined }],
      ] as StreamEvent[][];
      for (const b of bad) {
        const err = await stream.publish(b).catch((e: unknown) => e);
        expect((err as PlatformError).code).toBe('PLT_STREAM_BAD_EVENT');
      }
      const err = await stream.consume('bad name!', async () => {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PlatformError);
    });

    it('keeps unacknowledged events across a restart of the stream', async () => {
      await stream.publish(events('r', 30, 'restart.x'));
      await stream.close();
      stream = await openEventStream(engine.options());
      const c = collector();
      const consumer = await stream.consume('restart', c.handler, { subjects: ['restart.'] });
      await waitFor(() => c.ids().size === 30, 15_000, 'events published before the restart');
      await consumer.stop();
    });

    it('loses no acknowledged event when the producer process is killed mid-load', async () => {
      await stream.close();
      const producer = child('produce', engine.options());
      await waitFor(() => producer.lines.length > 40, 30_000, 'the producer to publish some batches');
      await kill(producer.proc);
      const acked = new Set(producer.lines.slice(1).flatMap((l) => l.split(' ')));
      expect(acked.size).toBeGreaterThan(400);
      stream = await openEventStream(engine.options());
      const c = collector();
      const consumer = await stream.consume('afterkill', c.handler, { subjects: ['fact.'], batchSize: 500 });
      await waitFor(
        () => [...acked].every((id) => c.ids().has(id)),
        30_000,
        `all ${acked.size} acknowledged events after the kill`,
      );
      await consumer.stop();
    });

    it('redelivers what a killed consumer process had not acknowledged', async () => {
      await stream.publish(events('k', 400, 'kill.x'));
      await stream.close();
      const worker = child('consume', { ...engine.options(), group: 'killed' });
      await waitFor(() => worker.lines.length > 5, 30_000, 'the consumer to handle a few batches');
      await kill(worker.proc);
      const handled = new Set(worker.lines.slice(1).flatMap((l) => l.split(' ')));
      expect(handled.size).toBeLessThan(400);
      stream = await openEventStream(engine.options());
      const c = collector();
      const consumer = await stream.consume('killed', c.handler, { subjects: ['kill.'] });
      await waitFor(
        () => events('k', 400).every((e) => handled.has(e.id) || c.ids().has(e.id)),
        30_000,
        'every event handled by the killed consumer or its successor',
      );
      await consumer.stop();
    });
  });
}

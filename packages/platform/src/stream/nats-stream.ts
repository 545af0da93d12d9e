import type { JsMsg, NatsConnection } from 'nats';
import { PlatformError } from '../errors.ts';
import type { BatchHandler, ConsumeOptions, Consumer, EventStream, StreamEvent } from './event-stream.ts';
import { subjectMatcher } from './subjects.ts';
import { checkEvents, checkGroup } from './validate.ts';

let nats: typeof import('nats') | undefined;
/** The client library, loaded by openNatsStream before anything else here runs. */
const loaded = (): typeof import('nats') => nats as typeof import('nats');

export interface NatsStreamOptions {
  natsUrl: string;
  /** JetStream stream name (default "SWARMCAST"); tests use a fresh one per run. */
  streamName?: string;
  /** Every subject is published as `<prefix>.<subject>` (default "swarmcast"). */
  subjectPrefix?: string;
  /**
   * Prepended to every group's durable consumer name (default none): two deployments that
   * read one stream under different prefixes each see every event.
   */
  consumerPrefix?: string;
  /** Unacknowledged deliveries are redelivered after this long (default 30 s). */
  ackWaitMs?: number;
  /** Events are kept this long whatever their acks (default 7 days). */
  maxAgeMs?: number;
  /** Pause before a failed batch is redelivered (default 200 ms). */
  redeliveryDelayMs?: number;
}

/**
 * The production event stream on NATS JetStream: one file-backed stream over
 * `<prefix>.>`, Nats-Msg-Id = event id (JetStream drops a duplicate publish within its
 * window), one durable pull consumer per group shared by the group's consumers, explicit
 * acks, redelivery after `ackWaitMs` or at once when a handler fails.
 */
export async function openNatsStream(options: NatsStreamOptions): Promise<EventStream> {
  // Loaded here, not at import: an embedded node (no NATS_URL) should not pay for the client.
  nats ??= await import('nats');
  const { connect, nanos, RetentionPolicy, StorageType } = nats;
  // Reconnect for ever: with the client's default (10 tries 2 s apart) an outage of ~20 s
  // closed the connection for good, so a tracker kept answering announces but every later
  // publish failed until a restart, and consumers stopped reading.
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: options.natsUrl,
      name: 'swarmcast',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1_000,
      // Else every JetStream publish captures two stack traces (a timeout error made in
      // advance, a request context): 38% of the client's CPU per publish (87-100 -> 55-62 us,
      // 3 runs at load 18-21), and on the node's hot paths (beacons, facts) one publish each.
      noAsyncTraces: true,
    });
  } catch (err) {
    // Once running, an outage is waited out (above); at start there is nothing to wait for
    // yet, so the operator is told, in one line, instead of a client library's stack.
    throw new PlatformError(
      'PLT_STREAM_UNAVAILABLE',
      `cannot reach NATS at ${withoutCredentials(options.natsUrl)} (${(err as { code?: string }).code ?? (err as Error).message})`,
      { cause: err },
    );
  }
  try {
    const stream = options.streamName ?? 'SWARMCAST';
    const prefix = options.subjectPrefix ?? 'swarmcast';
    const jsm = await nc.jetstreamManager();
    const config = {
      name: stream,
      subjects: [`${prefix}.>`],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      max_age: nanos(options.maxAgeMs ?? 7 * 24 * 3600_000),
      duplicate_window: nanos(120_000),
    };
    try {
      await jsm.streams.info(stream);
    } catch {
      await jsm.streams.add(config);
    }
    return new NatsStream(nc, stream, prefix, options);
  } catch (err) {
    await nc.close().catch(() => {});
    throw err;
  }
}

/** A NATS URL (or comma-separated list) with any user:password@ taken out, for messages. */
function withoutCredentials(urls: string): string {
  return urls.replace(/\/\/[^@/,]*@/g, '//');
}

class NatsStream implements EventStream {
  private closed = false;
  private readonly consumers = new Set<Consumer>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly stream: string,
    private readonly prefix: string,
    private readonly options: NatsStreamOptions,
  ) {}

  async publish(events: StreamEvent[]): Promise<void> {
    if (this.closed) throw new PlatformError('PLT_STREAM_CLOSED', 'publish after close()');
    checkEvents(events);
    const js = this.nc.jetstream();
    const enc = new TextEncoder();
    await Promise.all(
      events.map((e) =>
        js.publish(`${this.prefix}.${e.subject}`, enc.encode(JSON.stringify({ i: e.id, d: e.data })), {
          msgID: e.id,
        }),
      ),
    );
  }

  async consume(group: string, handler: BatchHandler, options: ConsumeOptions = {}): Promise<Consumer> {
    if (this.closed) throw new PlatformError('PLT_STREAM_CLOSED', 'consume after close()');
    checkGroup(group);
    const durable = `${this.options.consumerPrefix ?? ''}${group}`;
    const jsm = await this.nc.jetstreamManager();
    const subjects = options.subjects ?? [];
    const only = subjects.length === 1 ? subjects[0]! : undefined;
    try {
      await jsm.consumers.info(this.stream, durable);
    } catch {
      await jsm.consumers.add(this.stream, {
        durable_name: durable,
        ack_policy: loaded().AckPolicy.Explicit,
        deliver_policy: loaded().DeliverPolicy.All,
        ack_wait: loaded().nanos(this.options.ackWaitMs ?? 30_000),
        max_ack_pending: 20_000,
        // NATS 2.9 filters on one subject only; several are filtered here instead.
        ...(only
          ? { filter_subject: only.endsWith('.') ? `${this.prefix}.${only}>` : `${this.prefix}.${only}` }
          : {}),
      });
    }
    const matches = subjectMatcher(subjects);
    const batchSize = Math.max(1, options.batchSize ?? 100);
    const js = this.nc.jetstream();
    const c = await js.consumers.get(this.stream, durable);
    const messages = await c.consume({ max_messages: Math.max(batchSize * 2, 256) });
    const dec = new TextDecoder();
    const cut = this.prefix.length + 1;
    let current: JsMsg[] = [];
    let stopped = false;
    const delay = this.options.redeliveryDelayMs ?? 200;

    const runBatch = async (batch: JsMsg[]) => {
      const events: StreamEvent[] = [];
      for (const m of batch) {
        const subject = m.subject.slice(cut);
        if (!matches(subject)) {
          m.ack();
          continue;
        }
        const o = JSON.parse(dec.decode(m.data)) as { i: string; d: unknown };
        events.push({ id: o.i, subject, data: o.d });
      }
      if (events.length === 0) return;
      current = batch;
      try {
        await handler(events);
        if (!stopped) for (const m of batch) m.ack();
      } catch {
        for (const m of batch) m.nak(delay);
      } finally {
        current = [];
      }
    };

    // The iterator only feeds a buffer; a worker hands the handler whatever has arrived, up
    // to batchSize, after a 2 ms gather pause. Deciding "end of batch" inside the iterator
    // (getPending) held the last partial batch until the pull expired (30 s): nats.js
    // queues its refill pull in the same iterator, so pending never drops to zero there.
    const buffer: JsMsg[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    const pump = (async () => {
      for await (const m of messages) {
        if (stopped) {
          m.nak();
          continue;
        }
        buffer.push(m);
        wake?.();
      }
    })()
      .catch(() => {})
      .finally(() => {
        ended = true;
        wake?.();
      });
    const loop = (async () => {
      while (!stopped && !(ended && buffer.length === 0)) {
        if (buffer.length === 0) {
          await new Promise<void>((r) => {
            wake = r;
          });
          wake = undefined;
          continue;
        }
        if (buffer.length < batchSize) await new Promise((r) => setTimeout(r, 2));
        await runBatch(buffer.splice(0, batchSize));
      }
      for (const m of buffer.splice(0)) m.nak();
      await pump;
    })().catch(() => {});

    const consumer: Consumer = {
      pending: async () => {
        const info = await jsm.consumers.info(this.stream, durable);
        return info.num_pending + info.num_ack_pending;
      },
      stop: async () => {
        if (stopped) return;
        stopped = true;
        // Hand an unfinished batch back at once rather than after ack_wait.
        for (const m of current) m.nak();
        messages.stop();
        wake?.();
        this.consumers.delete(consumer);
        await Promise.race([loop, new Promise((r) => setTimeout(r, 100))]);
      },
    };
    this.consumers.add(consumer);
    options.signal?.addEventListener('abort', () => void consumer.stop(), { once: true });
    return consumer;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((c) => c.stop()));
    await this.nc.drain().catch(() => {});
  }
}

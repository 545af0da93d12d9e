import { join } from 'node:path';
import type { EventStream } from './event-stream.ts';
import { openNatsStream } from './nats-stream.ts';
import { openEmbeddedStream } from './wal-stream.ts';

export interface OpenEventStreamOptions {
  /** NATS_URL: JetStream when set, else the embedded write-ahead stream. */
  natsUrl?: string | undefined;
  /** The embedded stream keeps its files in `<dataDir>/stream`. */
  dataDir?: string | undefined;
  /** JetStream stream name and subject prefix (tests isolate runs with these). */
  streamName?: string;
  subjectPrefix?: string;
  /** JetStream: prefix of every durable consumer name (default none). */
  consumerPrefix?: string;
  /** JetStream: redeliver unacknowledged events after this long (default 30 s). */
  ackWaitMs?: number;
  /** Embedded: segment size (default 16 MiB). */
  segmentBytes?: number;
  onError?: (err: unknown) => void;
}

/** Opens the measurement event stream: NATS JetStream with a URL, else embedded. */
export function openEventStream(options: OpenEventStreamOptions): Promise<EventStream> {
  if (options.natsUrl) {
    return openNatsStream({
      natsUrl: options.natsUrl,
      ...(options.streamName ? { streamName: options.streamName } : {}),
      ...(options.subjectPrefix ? { subjectPrefix: options.subjectPrefix } : {}),
      ...(options.consumerPrefix ? { consumerPrefix: options.consumerPrefix } : {}),
      ...(options.ackWaitMs ? { ackWaitMs: options.ackWaitMs } : {}),
    });
  }
  if (!options.dataDir) throw new TypeError('openEventStream needs a dataDir or a natsUrl');
  return openEmbeddedStream({
    dir: join(options.dataDir, 'stream'),
    ...(options.segmentBytes ? { segmentBytes: options.segmentBytes } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  });
}

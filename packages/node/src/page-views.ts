import {
  consumePageViews,
  type PageViewConsumer,
  type PageViewRecorder,
  streamPageViews,
} from '@swarmcast/catalog';
import type { Clock, Db, EventStream } from '@swarmcast/platform';

/** The node's page views: what its web server records, and (web role) the count of them. */
export interface NodePageViews {
  recorder: PageViewRecorder;
  /** This process's member of the counting group; null when it does not run the web role. */
  counter: PageViewConsumer | null;
  close(): Promise<void>;
}

/**
 * Wires the catalog's page views to the node's event stream: every web server records the
 * views it serves; the web processes share the consumer group that counts them (each view
 * once). Failures go to `log` with the code CAT_VIEWS_FAILED, at most one line per 10 s.
 */
export async function startPageViews(o: {
  stream: EventStream;
  db: Db;
  clock: Clock;
  count: boolean;
  log: (err: unknown, message: string) => void;
}): Promise<NodePageViews> {
  let lastLogged = Number.NEGATIVE_INFINITY;
  const onError = (message: string) => (err: unknown) => {
    const now = o.clock.now();
    if (now - lastLogged < 10_000) return;
    lastLogged = now;
    o.log(err, message);
  };
  const recorder = streamPageViews(o.stream, { clock: o.clock, onError: onError('page view not stored') });
  const counter = o.count
    ? await consumePageViews(o.stream, o.db, {
        clock: o.clock,
        onError: onError('counting page views failed'),
      })
    : null;
  return {
    recorder,
    counter,
    async close() {
      await recorder.close();
      await counter?.stop();
    },
  };
}

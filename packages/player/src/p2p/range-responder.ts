/**
 * The page side of the stream protocol (stream-protocol.ts): answers the Service Worker's
 * range requests for the streams this page owns, pulling bytes from the engine one chunk per
 * `pull`. A request for a stream this page does not own is declined at once.
 */
import { parseRange } from '../delivery/byte-range.ts';
import type { PageToSw, SwToPage } from './stream-protocol.ts';

export interface StreamSource {
  readonly length: number;
  readonly type: string;
  read(start: number, end: number, signal: AbortSignal): AsyncGenerator<Uint8Array>;
}

/** Headers and status for a Range header against a resource of `length` bytes. */
export function rangeHead(
  rangeHeader: string | null,
  length: number,
  type: string,
): { status: number; headers: Record<string, string>; start: number; end: number } {
  const r = parseRange(rangeHeader, length);
  const base = { 'content-type': type, 'accept-ranges': 'bytes' };
  if (r.kind === 'unsatisfiable') {
    return { status: 416, headers: { ...base, 'content-range': `bytes */${length}` }, start: 0, end: -1 };
  }
  if (r.kind === 'full') {
    return { status: 200, headers: { ...base, 'content-length': String(length) }, start: 0, end: length - 1 };
  }
  return {
    status: 206,
    headers: {
      ...base,
      'content-length': String(r.end - r.start + 1),
      'content-range': `bytes ${r.start}-${r.end}/${length}`,
    },
    start: r.start,
    end: r.end,
  };
}

/** Answers one request on `port` from `source`. */
export function answerRange(port: MessagePort, source: StreamSource, rangeHeader: string | null): void {
  const head = rangeHead(rangeHeader, source.length, source.type);
  const post = (m: PageToSw, transfer: Transferable[] = []) => port.postMessage(m, transfer);
  post({ type: 'head', status: head.status, headers: head.headers });
  if (head.end < head.start) {
    port.close();
    return;
  }
  const abort = new AbortController();
  const chunks = source.read(head.start, head.end, abort.signal);
  let busy = Promise.resolve();
  port.onmessage = (ev: MessageEvent<SwToPage>) => {
    if (ev.data.type === 'cancel') {
      abort.abort();
      void chunks.return(undefined);
      port.close();
      return;
    }
    if (ev.data.type !== 'pull') return;
    busy = busy.then(async () => {
      try {
        const next = await chunks.next();
        if (next.done) {
          post(abort.signal.aborted ? { type: 'error', message: 'cancelled' } : { type: 'end' });
          return;
        }
        const bytes = next.value.slice().buffer;
        post({ type: 'chunk', bytes }, [bytes]);
      } catch (err) {
        post({ type: 'error', message: (err as Error).message });
      }
    });
  };
}

/**
 * Listens for the Service Worker's requests; `streams` maps a key to its source once the
 * engine runs. A request for a key with no running source is declined at once (the Service
 * Worker then reads the origin): the media element never waits on the engine. `onRequest`
 * hears each request, answered (true, with the first byte it asks for) or declined (false).
 */
export function serveStreams(
  container: ServiceWorkerContainer,
  streams: ReadonlyMap<string, StreamSource>,
  onRequest?: (key: string, answered: boolean, start: number) => void,
): () => void {
  const onMessage = (ev: MessageEvent) => {
    const msg = ev.data as SwToPage | null;
    const port = ev.ports[0];
    if (!port || !msg || msg.type !== 'sc-range') return;
    const key = typeof msg.key === 'string' ? msg.key : '';
    const source = streams.get(key);
    const range = typeof msg.range === 'string' ? msg.range : null;
    onRequest?.(key, source !== undefined, source ? rangeHead(range, source.length, source.type).start : 0);
    if (!source) {
      port.postMessage({ type: 'not-mine' } satisfies PageToSw);
      port.close();
      return;
    }
    answerRange(port, source, range);
  };
  container.addEventListener('message', onMessage);
  container.startMessages();
  return () => container.removeEventListener('message', onMessage);
}

/**
 * The Service Worker: answers the media element's Range requests marked `sc-p2p=<key>` from
 * the page that runs the swarm engine (see stream-protocol.ts) once that page has announced
 * the stream as running; until then (or if this worker restarted and forgot) the request is
 * not touched at all and goes to the network as if there were no worker, so the element
 * never waits on the worker or the engine. Only the requesting page is asked, so a page never
 * waits on another tab. The legacy `/assets/stream/...` URLs are always answered (origin
 * fallback). Every other request goes to the network untouched. Bundled on its own.
 */
import { type PageToSw, p2pParam, streamKeyOfUrl } from './stream-protocol.ts';

interface SwClient {
  readonly id: string;
  postMessage(message: unknown, transfer: Transferable[]): void;
}
interface FetchEventLike extends Event {
  readonly request: Request;
  readonly clientId: string;
  respondWith(r: Promise<Response>): void;
}
interface MessageEventLike extends Event {
  readonly data: unknown;
  readonly source: { readonly id?: string } | null;
}
interface SwScope {
  readonly location: Location;
  readonly clients: {
    get(id: string): Promise<SwClient | undefined>;
    matchAll(o: { type: 'window'; includeUncontrolled: boolean }): Promise<SwClient[]>;
    claim(): Promise<void>;
  };
  skipWaiting(): Promise<void>;
  addEventListener(type: string, f: (e: Event) => void): void;
}

const sw = globalThis as unknown as SwScope;
const headTimeoutMs = 5_000;

sw.addEventListener('install', () => void sw.skipWaiting());
sw.addEventListener('activate', (e) =>
  (e as Event & { waitUntil(p: Promise<unknown>): void }).waitUntil(sw.clients.claim()),
);
/** The streams each page announced as running (page id -> keys). */
const running = new Map<string, ReadonlySet<string>>();
sw.addEventListener('message', (e) => {
  const ev = e as MessageEventLike;
  const msg = ev.data as { type?: unknown; keys?: unknown } | null;
  const id = ev.source?.id;
  if (!id || !msg || msg.type !== 'sc-streams' || !Array.isArray(msg.keys)) return;
  const keys = msg.keys.filter((k): k is string => typeof k === 'string').slice(0, 64);
  if (keys.length > 0) running.set(id, new Set(keys));
  else running.delete(id);
  // Bounded: a page that went away without a word is forgotten with the oldest entries.
  while (running.size > 256) running.delete(running.keys().next().value as string);
});

sw.addEventListener('fetch', (e) => {
  const ev = e as FetchEventLike;
  const url = new URL(ev.request.url);
  const marked = url.searchParams.has(p2pParam);
  // A marked media URL may be on another host (a CDN); the legacy stream path is ours only.
  if (url.origin !== sw.location.origin && !marked) return;
  const key = streamKeyOfUrl(url);
  if (!key) return;
  // Marked, but its page runs no engine for it (yet): the network, untouched.
  if (marked && !running.get(ev.clientId)?.has(key)) return;
  ev.respondWith(answer(ev, key, url));
});

async function answer(ev: FetchEventLike, key: string, url: URL): Promise<Response> {
  const range = ev.request.headers.get('range');
  const own = ev.clientId ? await sw.clients.get(ev.clientId) : undefined;
  const r = own ? await ask(own, key, range) : null;
  if (r) return r;
  // The marked URL is the origin URL itself: the request goes out as the element made it.
  if (url.searchParams.has(p2pParam)) return fetch(ev.request);
  return fromOrigin(url, range, ev.request.signal);
}

/** Asks one page for the stream; null when it is not the engine's page or does not answer. */
function ask(client: SwClient, key: string, range: string | null): Promise<Response | null> {
  const channel = new MessageChannel();
  const port = channel.port1;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      port.close();
      resolve(null);
    }, headTimeoutMs);
    const waiting: ((m: PageToSw) => void)[] = [];
    port.onmessage = (m: MessageEvent<PageToSw>) => {
      const msg = m.data;
      if (msg.type === 'not-mine') {
        clearTimeout(timer);
        port.close();
        resolve(null);
      } else if (msg.type === 'head') {
        clearTimeout(timer);
        const body =
          msg.status === 416 || msg.status === 204
            ? null
            : new ReadableStream<Uint8Array>(
                {
                  pull: (controller) =>
                    new Promise<void>((done) => {
                      waiting.push((next) => {
                        if (next.type === 'chunk') controller.enqueue(new Uint8Array(next.bytes));
                        else if (next.type === 'end') {
                          controller.close();
                          port.close();
                        } else if (next.type === 'error') {
                          controller.error(new Error(next.message));
                          port.close();
                        }
                        done();
                      });
                      port.postMessage({ type: 'pull' });
                    }),
                  cancel: () => {
                    port.postMessage({ type: 'cancel' });
                    port.close();
                  },
                },
                { highWaterMark: 0 },
              );
        resolve(new Response(body, { status: msg.status, headers: msg.headers }));
      } else {
        waiting.shift()?.(msg);
      }
    };
    client.postMessage({ type: 'sc-range', key, range }, [channel.port2]);
  });
}

/** The page is gone or never ran the engine: the origin serves the range itself. */
function fromOrigin(url: URL, range: string | null, signal: AbortSignal): Promise<Response> {
  const origin = url.searchParams.get('origin');
  const target = origin ? URL.parse(origin, url) : null;
  if (!target || !/^https?:$/.test(target.protocol)) {
    return Promise.resolve(new Response('stream not available', { status: 404 }));
  }
  return fetch(target, { headers: range ? { range } : {}, signal });
}

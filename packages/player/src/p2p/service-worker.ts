/**
 * The Service Worker: answers the media element's Range requests for `/assets/stream/...`
 * from the page that runs the swarm engine (see stream-protocol.ts), and falls back to the
 * origin URL when no page claims the stream (engine gone, or a page opened without it).
 * Every other request goes to the network untouched. Bundled on its own (build/bundle.ts).
 */
import { type PageToSw, streamKeyOf } from './stream-protocol.ts';

interface SwClient {
  readonly id: string;
  postMessage(message: unknown, transfer: Transferable[]): void;
}
interface FetchEventLike extends Event {
  readonly request: Request;
  readonly clientId: string;
  respondWith(r: Promise<Response>): void;
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
sw.addEventListener('fetch', (e) => {
  const ev = e as FetchEventLike;
  const url = new URL(ev.request.url);
  if (url.origin !== sw.location.origin) return;
  const key = streamKeyOf(url.pathname);
  if (!key) return;
  ev.respondWith(answer(ev, key, url));
});

async function answer(ev: FetchEventLike, key: string, url: URL): Promise<Response> {
  const range = ev.request.headers.get('range');
  const own = ev.clientId ? await sw.clients.get(ev.clientId) : undefined;
  const all = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const candidates = own ? [own, ...all.filter((c) => c.id !== own.id)] : all;
  for (const client of candidates) {
    const r = await ask(client, key, range);
    if (r) return r;
  }
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

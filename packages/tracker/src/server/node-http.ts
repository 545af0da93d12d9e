/**
 * The standalone HTTP + WebSocket server on node:http. `swarmcast tracker` uses this rather
 * than Fastify because the announce path is one small GET and Fastify's routing, hooks and
 * reply object cost a measurable share of it (see bench/announce.bench.ts and the README).
 */
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import type { Tracker } from '../tracker.ts';
import { fastAnswer, maxFastRequestBytes, parseFastAnnounce } from './fast-announce.ts';
import { answerHttp, answerHttpSoon, type HttpReply } from './http-routes.ts';

export interface HttpTracker {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/**
 * Writes a fast-path answer and closes the connection once the bytes are with the kernel,
 * as opentracker does: `close` still sends them, then FIN. Not `end()`: a half-close waits
 * for the client's FIN (one more wake-up, a read of 0 bytes and the stream's end events),
 * which cost more per announce than the answer itself. The client sent one whole request
 * and nothing after it (parseFastAnnounce), so no unread bytes turn the close into a reset.
 * Destroyed at once when the write went out whole (nearly always: a few hundred bytes into
 * an empty socket), not from a write callback: a stream destroyed in its write callback
 * builds an ERR_STREAM_DESTROYED with its stack trace for nobody (Node 20's errorBuffer),
 * 3% of the HTTP tracker's CPU in the profile. A write the kernel did not take whole is
 * flushed by `end()`.
 */
function answerAndClose(socket: Socket, reply: HttpReply | null): void {
  const bytes = reply
    ? fastAnswer(reply.status, reply.contentType, reply.body)
    : fastAnswer(404, 'text/plain', 'not found\n');
  socket.write(bytes);
  if (socket.writableLength === 0) socket.destroy();
  else socket.end();
}

export function startHttpTracker(
  tracker: Tracker,
  options: { port: number; host?: string },
): Promise<HttpTracker> {
  const server = createServer((req, res) => {
    const ip = req.socket.remoteAddress ?? '';
    const ua = req.headers['user-agent'] ?? null;
    answerHttp(tracker, req.url ?? '/', ip, ua).then(
      (reply) => {
        if (!reply) {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
          return;
        }
        res.writeHead(reply.status, {
          'content-type': reply.contentType,
          'content-length': Buffer.byteLength(reply.body),
        });
        res.end(reply.body);
      },
      () => {
        res.writeHead(500).end();
      },
    );
  });
  server.on('upgrade', (req, socket, head) => tracker.ws.handleUpgrade(req, socket, head));
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  server.maxHeadersCount = 64;
  // The listening socket is a net server: a connection whose first read is one whole plain
  // announce is answered and closed here (fast-announce.ts); every other connection, with
  // the bytes already read put back, goes to the node:http server above.
  const fastSockets = new Set<Socket>();
  const listener = createNetServer((socket) => {
    const ip = socket.remoteAddress ?? '';
    fastSockets.add(socket);
    socket.once('close', () => fastSockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(server.headersTimeout, () => socket.destroy());
    socket.once('data', (chunk: Buffer) => {
      const fast = chunk.length <= maxFastRequestBytes ? parseFastAnnounce(chunk) : null;
      if (!fast) {
        socket.pause();
        socket.setTimeout(0);
        fastSockets.delete(socket);
        socket.removeAllListeners('error');
        socket.unshift(chunk);
        server.emit('connection', socket);
        socket.resume();
        return;
      }
      let reply: ReturnType<typeof answerHttpSoon>;
      try {
        reply = answerHttpSoon(tracker, fast.url, ip, fast.userAgent);
      } catch {
        socket.destroy();
        return;
      }
      if (reply instanceof Promise)
        reply.then(
          (r) => answerAndClose(socket, r),
          () => socket.destroy(),
        );
      else answerAndClose(socket, reply);
    });
  });
  return new Promise((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(options.port, options.host ?? '0.0.0.0', () => {
      listener.off('error', reject);
      const address = listener.address();
      resolve({
        server,
        port: typeof address === 'object' && address ? address.port : options.port,
        close: () =>
          new Promise<void>((r) => {
            for (const s of fastSockets) s.destroy();
            server.closeAllConnections();
            listener.close(() => r());
          }),
      });
    });
  });
}

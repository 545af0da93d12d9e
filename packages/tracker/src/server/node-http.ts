/**
 * The standalone HTTP + WebSocket server on node:http. `swarmcast tracker` uses this rather
 * than Fastify because the announce path is one small GET and Fastify's routing, hooks and
 * reply object cost a measurable share of it (see bench/announce.bench.ts and the README).
 */
import { createServer, type Server } from 'node:http';
import type { Tracker } from '../tracker.ts';
import { answerHttp } from './http-routes.ts';

export interface HttpTracker {
  server: Server;
  port: number;
  close(): Promise<void>;
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
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      const address = server.address();
      resolve({
        server,
        port: typeof address === 'object' && address ? address.port : options.port,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

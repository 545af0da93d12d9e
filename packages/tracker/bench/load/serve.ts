/**
 * One tracker under test, in its own process so that it has an event loop to itself:
 *   serve.ts ours PORT          our standalone tracker (node:http + dgram), rate limit off
 *   serve.ts ours-fastify PORT  our tracker mounted in Fastify (HTTP only) + dgram UDP
 *   serve.ts bittorrent-tracker PORT   the npm reference (HTTP + UDP)
 * Prints "ready" once listening.
 */
import Fastify from 'fastify';
import { trackerPlugin } from '../../src/server/fastify-plugin.ts';
import { startUdpTracker } from '../../src/server/udp-server.ts';
import { runStandaloneTracker } from '../../src/standalone.ts';
import { Tracker } from '../../src/tracker.ts';

const [kind, portText] = process.argv.slice(2);
const port = Number(portText);

if (kind === 'ours') {
  await runStandaloneTracker({ port, host: '127.0.0.1', rateLimit: null });
} else if (kind === 'ours-fastify') {
  const tracker = new Tracker({ rateLimit: null });
  const app = Fastify({ logger: false });
  await app.register(trackerPlugin, { tracker });
  await app.listen({ port, host: '127.0.0.1' });
  await startUdpTracker(tracker, { port, host: '127.0.0.1' });
  tracker.start();
} else if (kind === 'bittorrent-tracker') {
  const { Server } = await import('bittorrent-tracker');
  const server = new Server({ udp: true, http: true, ws: false, stats: false, trustProxy: false });
  server.on('error', () => undefined);
  server.on('warning', () => undefined);
  await new Promise<void>((resolve) =>
    server.listen(port, { http: '127.0.0.1', udp: '127.0.0.1', udp6: '::1' }, () => resolve()),
  );
} else {
  throw new Error(`unknown tracker ${kind}`);
}
process.stdout.write('ready\n');

/**
 * A collector alone in its own process, for the kill-and-restart durability test:
 * `node --import tsx collector-process.ts` with MEASURE_DATA_DIR (embedded stream) or
 * MEASURE_NATS_URL + MEASURE_STREAM + MEASURE_PREFIX (JetStream). Prints "PORT <n>".
 */
import { openEventStream, systemClock } from '@swarmcast/platform';
import Fastify from 'fastify';
import { collectorRoutes } from '../../src/collect/collector.ts';
import { testEdge } from './edge.ts';

const env = process.env;
const stream = await openEventStream({
  dataDir: env.MEASURE_DATA_DIR,
  natsUrl: env.MEASURE_NATS_URL,
  ...(env.MEASURE_STREAM ? { streamName: env.MEASURE_STREAM } : {}),
  ...(env.MEASURE_PREFIX ? { subjectPrefix: env.MEASURE_PREFIX } : {}),
});
const app = Fastify();
const collector = collectorRoutes(app, { stream, edge: testEdge, clock: systemClock });
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`PORT ${typeof address === 'object' && address ? address.port : 0}\n`);
process.on('SIGTERM', async () => {
  await app.close();
  await collector.close();
  await stream.close();
  process.exit(0);
});

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultEngineNames, loadConfig } from '@swarmcast/platform';
import {
  type AnnounceFactsConfig,
  openAnnounceFacts,
  openFactStream,
  runStandaloneTracker,
  runTrackerCluster,
} from '@swarmcast/tracker';
import { type Command, UsageError } from '../command.ts';

const usage = `
swarmcast tracker --port N [--host H] [--redis URL] [--private] [options]

Runs the BitTorrent tracker alone: HTTP announce/scrape and WebSocket (WebTorrent) on TCP
port N, UDP (BEP 15) on UDP port N. Announce at /announce, scrape at /scrape, per-torrent
counts at /stats, Prometheus metrics at /metrics.

options (environment variable in brackets; a flag wins over the variable):
  --port N            TCP and UDP port                                  [TRACKER_PORT]
  --host H            address to bind (default 0.0.0.0)                 [TRACKER_HOST]
  --redis URL         share swarms with other tracker processes         [REDIS_URL]
                      (keys under SWARMCAST_REDIS_PREFIX or TRACKER_REDIS_PREFIX,
                      default swarmcast:trk:)
  --private           passkeys in the URL path (/<passkey>/announce),   [TRACKER_PRIVATE=1]
                      only registered torrents, ratios kept per account
  --access-file F     private mode without Redis: JSON lists            [TRACKER_ACCESS_FILE]
                      {"passkeys": {"<key>": "<account>"}, "torrents": ["<hex>"]}
  --rate-limit R      announces per second per address, 0 = off         [TRACKER_RATE_LIMIT]
                      (default 20, bursts of 10x)
  --interval S        seconds between announces (default 600)           [TRACKER_INTERVAL]
  --workers N         processes serving the port (default 1: one        [TRACKER_WORKERS]
                      process). N > 1 puts the announce path on N cores;
                      the swarms are split between them by info-hash (or
                      shared in Redis), an announce reaching the wrong one
                      is passed to its owner, and each publishes the
                      facts of the announces it took

Every announce becomes a fact on the measurement stream: NATS JetStream when NATS_URL is
set (stream SWARMCAST_NATS_STREAM, default SWARMCAST), else the embedded stream in
<DATA_DIR>/tracker/stream. Audience keys use daily salts
in DATABASE_URL when set (shared by every process), else salts kept in this process.
DATACENTER_RANGES lists data-centre ranges to flag.
`;

function number(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`${name} must be an integer in ${min}..${max}`);
  return n;
}

const command: Command = {
  summary: 'run the tracker alone (HTTP, UDP and WebSocket on one port)',
  usage,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        redis: { type: 'string' },
        private: { type: 'boolean' },
        'access-file': { type: 'string' },
        'rate-limit': { type: 'string' },
        interval: { type: 'string' },
        workers: { type: 'string' },
      },
      strict: true,
    });
    const env = io.env;
    const port = number(values.port ?? env.TRACKER_PORT, '--port', 0, 65535);
    if (port === undefined) throw new UsageError('--port (or TRACKER_PORT) is required');
    const rate = number(values['rate-limit'] ?? env.TRACKER_RATE_LIMIT, '--rate-limit', 0, 1_000_000);
    const interval = number(values.interval ?? env.TRACKER_INTERVAL, '--interval', 10, 86_400);
    const workers = number(values.workers ?? env.TRACKER_WORKERS, '--workers', 1, 256) ?? 1;
    const privateMode =
      values.private ?? ['1', 'true', 'yes'].includes((env.TRACKER_PRIVATE ?? '').toLowerCase());
    const cfg = loadConfig(env);
    const redisUrl = values.redis ?? env.REDIS_URL ?? null;
    const factsConfig: AnnounceFactsConfig = {
      stream: {
        natsUrl: cfg.natsUrl ?? null,
        dataDir: join(cfg.dataDir, 'tracker'),
        streamName: cfg.engines.natsStream,
        subjectPrefix: cfg.engines.natsSubjects,
        consumerPrefix: cfg.engines.natsConsumerPrefix,
      },
      // The salts the node of this data dir (or every process using the same Redis) uses.
      salts: {
        redisUrl,
        dataDir: cfg.dataDir,
        redisPrefix:
          cfg.engines.redisPrefix === defaultEngineNames.redisPrefix
            ? null
            : `${cfg.engines.redisPrefix}salt:`,
      },
      datacenterRanges: cfg.datacenterRanges,
    };
    const options = {
      port,
      host: values.host ?? env.TRACKER_HOST ?? '0.0.0.0',
      redisUrl,
      redisPrefix: cfg.engines.redisPrefix,
      private: privateMode,
      accessFile: values['access-file'] ?? env.TRACKER_ACCESS_FILE ?? null,
      rateLimit: rate === undefined ? undefined : { perSecond: rate, burst: rate * 10 },
      intervals:
        interval === undefined
          ? undefined
          : { interval, minInterval: Math.min(60, interval), peerTtlMs: interval * 2_100 },
    };
    let running: { port: number; close(): Promise<void> };
    // With workers, each publishes its own facts; this process only keeps the embedded
    // stream's files (one owner) and appends what they send.
    let closeFacts: () => Promise<void>;
    if (workers > 1) {
      const factStream = factsConfig.stream.natsUrl ? undefined : await openFactStream(factsConfig.stream);
      running = await runTrackerCluster({
        ...options,
        workers,
        facts: factsConfig,
        ...(factStream ? { factStream } : {}),
      });
      closeFacts = async () => factStream?.close();
    } else {
      const facts = await openAnnounceFacts(factsConfig);
      const single = await runStandaloneTracker({ ...options, observer: facts.publisher });
      facts.publisher.metrics = single.tracker.metrics;
      facts.publisher.start();
      running = single;
      closeFacts = () => facts.close();
    }
    const host = options.host;
    io.stdout.write(
      `tracker listening on ${host}:${running.port} (http, ws, udp)${privateMode ? ', private' : ''}` +
        `${options.redisUrl ? ', swarms in redis' : ''}${workers > 1 ? `, ${workers} workers` : ''}\n`,
    );
    await new Promise<void>((resolve) => {
      if (io.signal.aborted) resolve();
      else io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await running.close();
    await closeFacts();
    return 0;
  },
};
export default command;

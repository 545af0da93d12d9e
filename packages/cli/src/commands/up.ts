import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { latestEpisodes } from '@swarmcast/catalog';
import {
  adminTokenFile,
  type LogLevel,
  logLevels,
  nodeRoles,
  parseRoles,
  type RunningNode,
  roleDuties,
  startNode,
} from '@swarmcast/node';
import { parseEngineNames, parseIceSettings, parseTrustedProxies } from '@swarmcast/platform';
import { type Command, exitCode, UsageError } from '../command.ts';

const usage = `swarmcast up [--port N] [--host H] [--data DIR]

Runs a whole node on one port: portal, API, origin, tracker (HTTP and WebSocket on TCP N,
UDP on N) and the seeder. State lives under DIR (default ./.data): PGlite database and
media files, unless DATABASE_URL points at PostgreSQL.

  --port N     TCP and UDP port (default $PORT or 8080; 0 picks a free one for each)
  --host H     address to listen on (default 127.0.0.1)
  --data DIR   data directory (default ./.data)
  --public-url URL   the address others reach this node at (default http://HOST:PORT);
                     it goes into torrents and feeds ($SWARMCAST_PUBLIC_URL)
  --no-demo    do not publish the demo show on first start
  --roles R    the roles this process runs, comma-separated (default all; $SWARMCAST_ROLES):
${nodeRoles.map((r) => `                 ${r.padEnd(8)} ${roleDuties[r]}`).join('\n')}
               Processes of one network share DATABASE_URL, REDIS_URL, NATS_URL and the
               media folder (--data); see docs/operations.md
  --log-level L  structured log (JSON lines on stderr): fatal, error, warn, info (default:
                 one line per request), debug, trace, or off ($SWARMCAST_LOG_LEVEL)

Environment: DATABASE_URL (PostgreSQL), REDIS_URL (tracker swarm state), NATS_URL (measurement stream), SWARMCAST_MAX_UPLOAD_MB (default 2048).
Without DATABASE_URL the embedded database runs on V8's baseline WebAssembly compiler (less
memory); SWARMCAST_WASM_TIER_UP=1 keeps the optimizing one.
Behind a reverse proxy: SWARMCAST_TRUST_PROXY (addresses/CIDRs of the proxies whose
X-Forwarded-For/Forwarded is believed; default none). Two networks on one Redis/NATS:
SWARMCAST_REDIS_PREFIX (default swarmcast:trk:), SWARMCAST_NATS_STREAM (default SWARMCAST),
SWARMCAST_NATS_SUBJECTS, SWARMCAST_NATS_CONSUMER. Seeder processes take over each other's
torrents SWARMCAST_SEED_LEASE_MS after one dies (default 15000). See docs/operations.md.
WebRTC: SWARMCAST_ICE_SERVERS (STUN/TURN URLs; default "self", the node's own STUN server on
UDP N; "none" for none), SWARMCAST_TURN_SECRET (coturn static-auth-secret, needed with a
turn: URL), SWARMCAST_TURN_TTL (seconds a minted TURN credential lasts, default 3600).
See docs/nat-traversal.md.`;

function parsePort(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new UsageError(`--port must be 0..65535, not "${text}"`);
  return n;
}

const command: Command = {
  summary: 'run a whole node (portal, API, origin, tracker, seeder)',
  usage,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        data: { type: 'string', default: './.data' },
        'public-url': { type: 'string' },
        'no-demo': { type: 'boolean', default: false },
        'log-level': { type: 'string' },
        roles: { type: 'string' },
      },
      strict: true,
    });
    // The embedded database (PGlite, Postgres in WebAssembly) compiled by V8's baseline
    // compiler only: its optimizing tier-up cost 40-70 MiB of resident memory (code and
    // compile memory the allocator keeps) for an embedded node's few queries; set before
    // the module is compiled. SWARMCAST_WASM_TIER_UP=1 keeps the optimizing tier.
    if (!io.env.DATABASE_URL && io.env.SWARMCAST_WASM_TIER_UP !== '1') setFlagsFromString('--liftoff-only');
    const port = parsePort(values.port ?? io.env.PORT ?? '8080');
    const level = values['log-level'] ?? io.env.SWARMCAST_LOG_LEVEL ?? 'info';
    if (level !== 'off' && !(logLevels as readonly string[]).includes(level))
      throw new UsageError(`--log-level must be one of ${logLevels.join(', ')} or off, not "${level}"`);
    const roles = parseRoles(values.roles ?? io.env.SWARMCAST_ROLES);
    if (roles instanceof Error) throw new UsageError(`--roles: ${roles.message}`);
    const leaseText = io.env.SWARMCAST_SEED_LEASE_MS;
    const leaseMs = leaseText ? Number(leaseText) : undefined;
    if (leaseMs !== undefined && !(Number.isInteger(leaseMs) && leaseMs >= 1000 && leaseMs <= 3_600_000))
      throw new UsageError(
        `SWARMCAST_SEED_LEASE_MS must be milliseconds from 1000 to 3600000, not "${leaseText}"`,
      );
    const dataDir = resolve(values.data);
    let node: RunningNode;
    try {
      const ice = parseIceSettings(
        io.env.SWARMCAST_ICE_SERVERS,
        io.env.SWARMCAST_TURN_SECRET,
        io.env.SWARMCAST_TURN_TTL,
      );
      const env = (k: string) => (io.env[k] === '' ? undefined : io.env[k]);
      const trustProxy = parseTrustedProxies(io.env.SWARMCAST_TRUST_PROXY);
      const engines = parseEngineNames(env);
      node = await startNode({
        trustProxy,
        engines,
        roles,
        ...(leaseMs ? { seedLeaseMs: leaseMs } : {}),
        port,
        host: values.host,
        dataDir,
        databaseUrl: io.env.DATABASE_URL,
        redisUrl: io.env.REDIS_URL,
        natsUrl: io.env.NATS_URL,
        publicUrl: values['public-url'] ?? io.env.SWARMCAST_PUBLIC_URL,
        demo: !values['no-demo'],
        ice,
        logLevel: level === 'off' ? false : (level as LogLevel),
        maxUploadBytes: io.env.SWARMCAST_MAX_UPLOAD_MB
          ? Number(io.env.SWARMCAST_MAX_UPLOAD_MB) * 1024 * 1024
          : undefined,
      });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'EADDRINUSE' || code === 'EACCES') {
        io.stderr.write(`swarmcast up: cannot listen on ${values.host}:${port} (${code}); try --port\n`);
        return exitCode.failure;
      }
      if (code === 'PLT_CONFIG_INVALID') {
        io.stderr.write(`swarmcast up: ${(err as Error).message}\n`);
        return exitCode.failure;
      }
      if (code === 'PLT_DB_LOCKED') {
        io.stderr.write(
          `swarmcast up: another node is already running on ${dataDir}; stop it or use --data\n`,
        );
        return exitCode.failure;
      }
      throw err;
    }
    io.stdout.write(`Swarmcast node up at ${node.url} (data in ${dataDir}, database ${node.db.engine})\n`);
    if (roles.size < nodeRoles.length) io.stdout.write(`Roles: ${[...roles].join(', ')}\n`);
    const missing = node.services.missingMedia;
    if (missing.length > 0) {
      io.stderr.write(
        `swarmcast up: ${missing.length} published episode(s) have no media file under ${join(dataDir, 'media')} (unavailable here): ${missing
          .slice(0, 5)
          .map((m) => m.path)
          .join(', ')}${missing.length > 5 ? ', ...' : ''}\n`,
      );
    }
    // Where the admin token is, never the token itself (logs are read by more people).
    const tokenAt = io.env.SWARMCAST_ADMIN_TOKEN
      ? 'the SWARMCAST_ADMIN_TOKEN environment variable'
      : join(dataDir, adminTokenFile);
    io.stdout.write(
      `Admin token: in ${tokenAt} (Authorization: Bearer <token>: an admin on every API, for scripts)\n`,
    );
    // The places a newcomer looks for first.
    const at = (path: string) => new URL(path, node.url).toString();
    const [demo] = await latestEpisodes(node.catalog.db, 1).catch(() => []);
    io.stdout.write(
      [
        '',
        `  Portal              ${at('/')}`,
        `  Sign up             ${at('/signup')}  (creator or advertiser account)`,
        ...(demo ? [`  Latest episode      ${at(`/episodes/${demo.id}`)}  (${demo.title})`] : []),
        `  Creator dashboard   ${at('/dashboard')}`,
        `  Advertiser dashboard ${at('/ads/dashboard')}`,
        `  Admin pages         ${at('/admin')}  (an admin account: swarmcast admin add --email you@example.org)`,
        '',
      ].join('\n') + '\n',
    );
    if (!io.signal.aborted) {
      await new Promise<void>((done) => io.signal.addEventListener('abort', () => done(), { once: true }));
    }
    const why = io.signal.reason instanceof Error ? io.signal.reason.message : 'stop';
    const t0 = Date.now();
    io.stdout.write(`Swarmcast node stopping (${why})\n`);
    await node.close();
    io.stdout.write(`Swarmcast node stopped in ${Date.now() - t0} ms\n`);
    return exitCode.ok;
  },
};
export default command;

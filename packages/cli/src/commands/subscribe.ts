import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DhtNode, PUBLIC_DHT_BOOTSTRAP, parseMutableMagnet, SwarmNode } from '@swarmcast/bittorrent/node';
import { type Command, exitCode, UsageError } from '../command.ts';
import { type FollowEvent, followShow } from '../follow-show.ts';
import { parseEncryption, parsePeer } from '../transfer-output.ts';

const usage = `swarmcast subscribe <magnet:?xs=urn:btpk:...> -o <dir> [--dht HOST:PORT|public]...
              [--interval SECONDS] [--fetch-timeout SECONDS] [--port N] [--host ADDR]
              [--encryption prefer|require|off] [--json]

Follows a show through the BitTorrent DHT alone (BEP 46): the show's key (the feed's
<podcast:txt purpose="btpk">, or the show page) names a signed item on the DHT pointing at
the show's newest feed as a torrent. Each round looks it up; when the show published
something new (a higher sequence number, signed by the show's key), the feed is fetched
over BitTorrent, then every episode it lists by its magnet link, into <dir>, and all of it
is seeded until interrupted. Peers come from the DHT only: no tracker, no web seed, no HTTP,
so the show keeps reaching its followers when its node is gone, as long as someone seeds.

Items with a bad signature or another key are dropped; an item with a sequence number
below the one already applied (a replayed older feed) is refused. What was fetched is
remembered in <dir>/.swarmcast-follow.json: a restart seeds it again and fetches only what
is new. <dir>/feed.xml is the newest feed.

  -o, --output DIR        folder for the episodes (required)
  --dht HOST:PORT         join the DHT through this node; repeat for more; "public" for the
                          public routers (default: $SWARMCAST_DHT_BOOTSTRAP, else public)
  --interval SECONDS      between two lookups of the show (default 120)
  --fetch-timeout SECONDS give up one torrent after this long, retried next round (default 600)
  --port N                TCP port to accept peers on (default: any free port)
  --host ADDR             address for peers and the DHT (default: every address)
  --encryption MODE       protocol encryption with peers: prefer (default), require, off
  --json                  JSON lines on stdout

Runs until interrupted (exit 0); exit 1 when the DHT cannot be joined, 2 on a bad command line.`;

const command: Command = {
  summary: 'follow a show through the DHT alone (BEP 46 key): fetch and seed each new episode',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o' },
        dht: { type: 'string', multiple: true, default: [] },
        interval: { type: 'string', default: '120' },
        'fetch-timeout': { type: 'string', default: '600' },
        port: { type: 'string' },
        host: { type: 'string' },
        encryption: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    const link = positionals[0];
    if (!link || positionals.length > 1)
      throw new UsageError('give exactly one magnet:?xs=urn:btpk:... link');
    const key = parseMutableMagnet(link);
    if (!key) throw new UsageError(`"${link}" is not a BEP 46 link (magnet:?xs=urn:btpk:<64 hex digits>)`);
    if (!values.output) throw new UsageError('-o <dir> is required');
    const seconds = (v: string, name: string) => {
      const n = Number(v);
      if (!(n > 0 && n <= 86_400))
        throw new UsageError(`${name} must be a number of seconds, 0 < s <= 86400`);
      return n * 1000;
    };
    const intervalMs = seconds(values.interval, '--interval');
    const fetchTimeoutMs = seconds(values['fetch-timeout'], '--fetch-timeout');
    const port = values.port === undefined ? 0 : Number(values.port);
    if (!(Number.isInteger(port) && port >= 0 && port < 65536))
      throw new UsageError('--port must be 0..65535');
    const encryption = parseEncryption(values.encryption);
    const given = values.dht.length
      ? values.dht
      : (io.env.SWARMCAST_DHT_BOOTSTRAP?.split(',')
          .map((x) => x.trim())
          .filter(Boolean) ?? ['public']);
    const bootstrap = given.flatMap((d) => {
      if (d === 'public') return [...PUBLIC_DHT_BOOTSTRAP];
      if (!parsePeer(d)) throw new UsageError(`--dht "${d}" is not HOST:PORT or "public"`);
      return [d];
    });

    const write = (kind: string, fields: Record<string, unknown>, text: string) =>
      io.stdout.write(values.json ? `${JSON.stringify({ event: kind, ...fields })}\n` : `${text}\n`);
    const dht = await DhtNode.start({ bootstrap, host: values.host ?? '0.0.0.0', port: 0 });
    if (!dht.ok) {
      io.stderr.write(`swarmcast subscribe: ${dht.error.code}: ${dht.error.message}\n`);
      return exitCode.failure;
    }
    // Trackers off: peers come from the DHT alone (a feed's magnets name the node's trackers).
    const node = new SwarmNode({
      dht: dht.value,
      trackers: false,
      dhtRetryMs: 2000,
      port,
      ...(values.host ? { host: values.host } : {}),
      ...(encryption ? { encryption } : {}),
    });
    try {
      await node.start();
      write(
        'started',
        { publicKey: Buffer.from(key.publicKey).toString('hex'), port: node.port, dhtPort: dht.value.port },
        `following ${link} through the DHT (peers on port ${node.port}); Ctrl-C to stop`,
      );
      await followShow({
        dht: dht.value,
        node,
        publicKey: key.publicKey,
        salt: key.salt,
        dir: resolve(values.output),
        intervalMs,
        fetchTimeoutMs,
        signal: io.signal,
        onEvent: (e) => write(e.event, e, describe(e)),
      });
    } catch (err) {
      io.stderr.write(`swarmcast subscribe: ${(err as Error).message}\n`);
      return exitCode.failure;
    } finally {
      await node.close();
      await dht.value.close();
    }
    return exitCode.ok;
  },
};

function describe(e: FollowEvent): string {
  switch (e.event) {
    case 'polled':
      return e.seq === null ? 'no item on the DHT yet' : `the show is at sequence ${e.seq}`;
    case 'item':
      return `new feed ${e.seq}: torrent ${e.infoHash}`;
    case 'refused':
      return `refused item ${e.seq}: ${e.reason}`;
    case 'feed':
      return `feed ${e.seq}: "${e.title}", ${e.episodes} episodes`;
    case 'episode':
      return `fetched "${e.title}" (${e.bytes} bytes) to ${e.path}; seeding`;
    case 'skipped':
      return `skipped "${e.title}": ${e.reason}`;
    case 'failed':
      return `failed: ${e.what}: ${e.reason} (retried next round)`;
    case 'seeding':
      return `seeding ${e.path} again`;
  }
}

export default command;

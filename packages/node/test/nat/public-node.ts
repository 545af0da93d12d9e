/**
 * The node of the NAT lab, run inside the lab's public namespace (`ip netns exec <public>
 * node --import tsx public-node.ts '<json>'`), so the node is a server on the public side
 * like on the internet, not the test process on the host. Its own seeder is off (every byte
 * a home gets from peers came from another home). Prints one JSON line `ready` with its URL,
 * UDP (tracker and STUN) port and the demo episode (id, media file, sha256, length), then
 * runs until `stop` on stdin.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { latestEpisodes } from '@swarmcast/catalog';
import { parseIceSettings } from '@swarmcast/platform';
import { startNode } from '../../src/index.ts';

const a = JSON.parse(process.argv[2] ?? '{}') as {
  host: string;
  dataDir: string;
  ice: string;
  secret: string;
};
const node = await startNode({
  port: 0,
  host: a.host,
  dataDir: a.dataDir,
  seed: false,
  ice: parseIceSettings(a.ice, a.secret, '600'),
});
const ep = (await latestEpisodes(node.db, 10)).find((e) => e.title === 'Welcome to Swarmcast');
if (!ep?.media) throw new Error('no demo episode');
const file = join(node.catalog.mediaDir, ep.media.path);
const bytes = await readFile(file);
process.stdout.write(
  `${JSON.stringify({
    event: 'ready',
    url: node.url,
    udpPort: node.udpPort,
    episodeId: ep.id,
    file,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    length: bytes.length,
  })}\n`,
);
for await (const line of createInterface({ input: process.stdin })) if (line === 'stop') break;
await node.close();
process.exit(0);

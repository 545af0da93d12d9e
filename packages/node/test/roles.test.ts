import { join } from 'node:path';
import { HttpTracker } from '@swarmcast/bittorrent';
import { scratchDir } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeRoles, parseRoles, type RunningNode, startNode } from '../src/index.ts';

/**
 * `swarmcast up --roles` (issue 19): a process serves the routes of its roles only (the
 * proxy routes the rest elsewhere) and runs only their background work.
 */
describe('parseRoles', () => {
  it('reads lists, "all" and nothing; refuses unknown names with the known ones', () => {
    expect([...(parseRoles(undefined) as Set<string>)]).toEqual([...nodeRoles]);
    expect([...(parseRoles('all') as Set<string>)]).toEqual([...nodeRoles]);
    expect([...(parseRoles(' tracker , seeder') as Set<string>)]).toEqual(['tracker', 'seeder']);
    const bad = parseRoles('web,cdn');
    expect(bad).toBeInstanceOf(Error);
    expect((bad as Error).message).toBe(
      'unknown role "cdn"; roles are web, origin, tracker, seeder, measure (or all)',
    );
  });
});

describe('a node with some roles', () => {
  let site: RunningNode;
  let swarm: RunningNode;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  beforeAll(async () => {
    dir = await scratchDir('node-roles');
    [site, swarm] = await Promise.all([
      startNode({ port: 0, host: '127.0.0.1', dataDir: join(dir.path, 'site'), roles: ['web', 'origin'] }),
      startNode({
        port: 0,
        host: '127.0.0.1',
        dataDir: join(dir.path, 'swarm'),
        roles: ['tracker', 'seeder', 'measure'],
        demo: false,
      }),
    ]);
  }, 180_000);
  afterAll(async () => {
    await site?.close();
    await swarm?.close();
    await dir?.remove();
  });

  const get = (node: RunningNode, path: string) => fetch(new URL(path, node.url));
  /** The status of a GET whose body is read to its end: an unread body holds its connection
   * open, and the node's close waited for it (73 s, now and then, beside other test files). */
  const status = async (node: RunningNode, path: string) => {
    const r = await get(node, path);
    await r.arrayBuffer();
    return r.status;
  };

  it('web+origin: serves pages and media, not the tracker; runs no seeder and no pipeline', async () => {
    expect(await status(site, '/')).toBe(200);
    expect(await status(site, '/healthz')).toBe(200);
    const feed = await (await get(site, '/shows/swarmcast-demo/feed.xml')).text();
    const media = /url="[^"]*?(\/media\/[^"]+)"/.exec(feed)?.[1];
    expect(media).toBeTruthy();
    expect(await status(site, media!)).toBe(200);
    const announce = await get(site, '/announce?info_hash=x');
    expect(announce.status).toBe(404);
    expect(await announce.json()).toEqual({
      code: 'ROLE_NOT_HERE',
      message: 'this process does not run the tracker role',
    });
    expect(site.services.seeding).toBeNull();
    expect(site.services.measure.pipeline).toBeNull();
  });

  it('tracker+seeder+measure: answers announces, seeds, consumes; serves no pages or media', async () => {
    const reply = await new HttpTracker(new URL('/announce', swarm.url).toString()).announce({
      // Bytes 0x07 are control characters as text: the node's text guard once refused them.
      infoHash: Buffer.alloc(20, 7),
      peerId: Buffer.from('-TS0001-abcdefghijkl'),
      port: 6881,
      uploaded: 0,
      downloaded: 0,
      left: 100,
    });
    expect(reply.ok ? 'ok' : reply.error).toBe('ok');
    for (const path of ['/', '/dashboard', '/media/swarmcast-demo/x.mp3', '/dai/x.mp3']) {
      const r = await get(swarm, path);
      expect(r.status, path).toBe(404);
      expect((await r.json()).code).toBe('ROLE_NOT_HERE');
    }
    expect(swarm.services.seeding).not.toBeNull();
    expect(swarm.services.measure.pipeline).not.toBeNull();
  });
});

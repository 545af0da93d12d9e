/**
 * Hostile podcast-app traffic on a whole node's stitched enclosure: one client rotating
 * through a thousand user agents gets at most its per-client number of plans (then the
 * episode's shared plan): bounded rows and decisions, never a 5xx; every answer is one of
 * those plans' coherent bytes. Ranges in hundreds of pieces, past the end, or absurd: the
 * whole file, 206 or 416, never a 5xx or a broken body.
 */
import { scratchDir } from '@swarmcast/testkit';
import Parser from 'rss-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNode, startNode } from '../src/index.ts';

describe('hostile podcast-app traffic on the stitched enclosure', () => {
  let node: RunningNode;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let enclosure: string;
  let episodeId: string;

  beforeAll(async () => {
    dir = await scratchDir('dai-hostile-');
    node = await startNode({ port: 0, host: '127.0.0.1', dataDir: dir.path });
    await node.services.warmDai();
    await node.services.dai!.preparedIdle();
    const items = (
      await new Parser().parseURL(new URL('/shows/swarmcast-demo/feed.xml', node.url).toString())
    ).items;
    enclosure = items.find((i) => i.title === 'Welcome to Swarmcast')!.enclosure!.url;
    episodeId = /\/dai\/([^/]+)\.mp3$/.exec(enclosure)![1]!;
  }, 180_000);
  afterAll(async () => {
    await node?.close();
    await dir?.remove();
  });

  const planRows = async () =>
    Number(
      (
        await node.db.query<{ n: unknown }>(
          'SELECT count(*) AS n FROM ads_stitch_plans WHERE episode_id = $1',
          [episodeId],
        )
      ).rows[0]!.n,
    );

  it('a thousand rotating user agents from one address cost at most 8 plans + the shared one', async () => {
    const before = await planRows();
    const n = 1000;
    const statuses = new Map<number, number>();
    const etags = new Map<string, number>();
    let next = 0;
    // Ten at a time: a client opening connections in parallel, bounded for the shared machine.
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next < n) {
          const i = next++;
          const res = await fetch(enclosure, {
            headers: { 'user-agent': `Rotator/${i}.0 (hostile; build ${i * 7919})`, range: 'bytes=0-1' },
          });
          await res.arrayBuffer();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          const size = res.headers.get('content-range')?.split('/')[1] ?? '';
          const key = `${res.headers.get('etag')}|${size}`;
          etags.set(key, (etags.get(key) ?? 0) + 1);
        }
      }),
    );
    expect([...statuses]).toEqual([[206, n]]);
    const made = (await planRows()) - before;
    expect(made).toBeGreaterThan(0);
    expect(made).toBeLessThanOrEqual(8 + 1);
    // Every answer is one of those plans; most listeners share the episode's shared plan.
    expect(etags.size).toBeLessThanOrEqual(made);
    expect(Math.max(...etags.values())).toBeGreaterThanOrEqual(n - 8);
    expect(node.services.dai!.reasons.get(episodeId)).toBeUndefined();
  }, 300_000);

  it('a shared-plan listener still gets a coherent file: chunks equal one full GET', async () => {
    const ua = 'Rotator/99999.0 (hostile)';
    const full = await fetch(enclosure, { headers: { 'user-agent': ua } });
    const body = Buffer.from(await full.arrayBuffer());
    expect(full.status).toBe(200);
    const etag = full.headers.get('etag')!;
    const parts: Buffer[] = [];
    const step = Math.ceil(body.length / 5);
    for (let at = 0; at < body.length; at += step) {
      const r = await fetch(enclosure, {
        headers: { 'user-agent': ua, range: `bytes=${at}-${at + step - 1}`, 'if-range': etag },
      });
      expect(r.status).toBe(206);
      parts.push(Buffer.from(await r.arrayBuffer()));
    }
    expect(Buffer.concat(parts).equals(body)).toBe(true);
  });

  it('hundreds of ranges, ranges past the end and absurd ranges: 200, 206 or 416, never a 5xx', async () => {
    const ua = 'AppleCoreMedia/1.0.0.20E247 (iPhone; U; CPU OS 16_4 like Mac OS X; en_us)';
    const whole = Buffer.from(
      await (await fetch(enclosure, { headers: { 'user-agent': ua } })).arrayBuffer(),
    );
    const pieces = Array.from({ length: 400 }, (_, i) => `${i * 50}-${i * 50 + 9}`).join(',');
    const many = await fetch(enclosure, { headers: { 'user-agent': ua, range: `bytes=${pieces}` } });
    expect(many.status).toBe(200);
    expect(Buffer.from(await many.arrayBuffer()).equals(whole)).toBe(true);
    const past = await fetch(enclosure, { headers: { 'user-agent': ua, range: `bytes=${whole.length}-` } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${whole.length}`);
    for (const range of [
      'bytes=-0',
      `bytes=0-${'9'.repeat(40)}`,
      'bytes=5-2',
      'bytes=abc',
      `bytes=-${'9'.repeat(30)}`,
    ]) {
      const r = await fetch(enclosure, { headers: { 'user-agent': ua, range } });
      const got = Buffer.from(await r.arrayBuffer());
      expect([200, 206, 416], range).toContain(r.status);
      if (r.status === 200) expect(got.equals(whole), range).toBe(true);
      if (r.status === 206) {
        const [a, z] = r.headers.get('content-range')!.slice(6).split('/')[0]!.split('-').map(Number);
        expect(got.equals(whole.subarray(a, z! + 1)), range).toBe(true);
      }
    }
  });
});

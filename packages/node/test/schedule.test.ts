import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { demoMediaDir } from '@swarmcast/catalog';
import { scratchDir } from '@swarmcast/testkit';
import Parser from 'rss-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNode, startNode } from '../src/index.ts';

/** Drafts and scheduled publishing on a whole node: nothing shows early, the feed updates on time. */
describe('drafts and scheduled episodes', () => {
  let node: RunningNode;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let token: string;
  let origin: string;
  const changes: string[] = [];
  const waiters: Array<() => void> = [];
  const url = (p: string) => new URL(p, node.url).toString();
  const api = (path: string, init: RequestInit = {}) =>
    fetch(url(path), {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) },
    });
  const json = (path: string, body: unknown, method = 'POST') =>
    api(path, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const feedGuids = async () =>
    (await new Parser().parseURL(url('/shows/sched/feed.xml'))).items.map((i) => i.guid);
  /** Resolves on the next feed change of the show (the node's onFeedChange seam). */
  const nextChange = () => new Promise<void>((r) => waiters.push(r));

  beforeAll(async () => {
    dir = await scratchDir();
    node = await startNode({ port: 0, host: '127.0.0.1', dataDir: dir.path, demo: false });
    const before = node.catalog.onFeedChange;
    node.catalog.onFeedChange = (slug) => {
      before?.(slug);
      changes.push(slug);
      for (const w of waiters.splice(0)) w();
    };
    origin = new URL(node.url).origin;
    const res = await fetch(url('/signup'), {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
      body: new URLSearchParams({
        email: 'ada@example.org',
        name: 'Ada',
        password: 'a long enough password',
        role: 'creator',
      }),
    });
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const t = await fetch(url('/api/tokens'), {
      method: 'POST',
      headers: { cookie, origin, 'content-type': 'application/json' },
      body: '{}',
    });
    token = ((await t.json()) as { token: string }).token;
    expect((await json('/api/shows', { slug: 'sched', title: 'Scheduled' })).status).toBe(201);
  });
  afterAll(async () => {
    await node?.close();
    await dir?.remove();
  });

  const publish = async (extra: Record<string, unknown>) => {
    const up = await api('/api/uploads', {
      method: 'POST',
      body: await readFile(join(demoMediaDir, 'swarm.mp3')),
    });
    const { id: uploadId } = (await up.json()) as { id: string };
    const r = await json('/api/shows/sched/episodes', { uploadId, title: 'Soon', ...extra });
    expect(r.status).toBe(201);
    return (await r.json()) as { id: string; guid: string; draft: boolean };
  };

  it('a draft is nowhere public until published; publishing keeps its GUID', async () => {
    const d = await publish({ draft: true, title: 'Draft notes' });
    expect(d.draft).toBe(true);
    expect(await feedGuids()).toEqual([]);
    expect((await fetch(url(`/episodes/${d.id}`))).status).toBe(404);
    expect((await fetch(url(`/api/episodes/${d.id}`))).status).toBe(404);
    expect((await fetch(url(`/episodes/${d.id}/chapters.json`))).status).toBe(404);
    expect(await (await fetch(url('/search?q=draft'))).text()).not.toContain(d.id);
    // Its creator sees it (API and a preview of the page).
    expect((await api(`/api/episodes/${d.id}`)).status).toBe(200);
    const all = (await (await api('/api/shows/sched')).json()) as { episodes: Array<{ id: string }> };
    expect(all.episodes.map((e) => e.id)).toEqual([d.id]);
    const changed = nextChange();
    const live = await json(`/api/episodes/${d.id}/schedule`, { draft: false }, 'PUT');
    expect(live.status).toBe(200);
    await changed;
    expect(((await live.json()) as { guid: string }).guid).toBe(d.guid);
    expect(await feedGuids()).toEqual([d.guid]);
    // Editing the published episode never changes its GUID either.
    const edited = await json(`/api/episodes/${d.id}`, { title: 'Renamed', season: 2 }, 'PUT');
    expect(((await edited.json()) as { guid: string }).guid).toBe(d.guid);
    expect(await feedGuids()).toEqual([d.guid]);
  });

  it('a scheduled episode goes live at its time and the feed updates then', async () => {
    const before = await feedGuids();
    const at = new Date(Date.now() + 2500);
    const s = await publish({ publishAt: at.toISOString(), title: 'Later' });
    expect(await feedGuids()).toEqual(before);
    expect((await fetch(url(`/episodes/${s.id}`))).status).toBe(404);
    const dash = await (await api('/dashboard/shows/sched')).text();
    expect(dash).toContain('scheduled for');
    // Nothing asks the node: its own timer finds the time has come.
    await nextChange();
    expect(Date.now()).toBeGreaterThanOrEqual(at.getTime());
    expect(await feedGuids()).toEqual([s.guid, ...before]);
    expect((await fetch(url(`/episodes/${s.id}`))).status).toBe(200);
  });

  it('refuses a malformed time, and back to draft takes it out of the feed', async () => {
    const [guid] = await feedGuids();
    const { episodes } = (await (await api('/api/shows/sched')).json()) as {
      episodes: Array<{ id: string; guid: string }>;
    };
    const ep = episodes.find((e) => e.guid === guid)!;
    expect((await json(`/api/episodes/${ep.id}/schedule`, { publishAt: 'tomorrow-ish' }, 'PUT')).status).toBe(
      400,
    );
    const changed = nextChange();
    expect((await json(`/api/episodes/${ep.id}/schedule`, { draft: true }, 'PUT')).status).toBe(200);
    await changed;
    expect(await feedGuids()).not.toContain(guid);
    expect(changes.every((c) => c === 'sched')).toBe(true);
  });
});

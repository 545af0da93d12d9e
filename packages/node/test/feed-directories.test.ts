import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { artworkProblems, demoMediaDir, directoryProblems, sniffImage } from '@swarmcast/catalog';
import { scratchDir } from '@swarmcast/testkit';
import Parser from 'rss-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNode, startNode } from '../src/index.ts';

/**
 * Podcast-app compatibility: a creator's show with every feed feature set through the API
 * and the dashboard, checked against the directories' published rules (Apple's, the
 * strictest) and read by a feed parser, with the artwork's real pixel size.
 */
describe('feeds the directories accept', () => {
  let node: RunningNode;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let token: string;
  let cookie: string;
  let origin: string;
  const url = (p: string) => new URL(p, node.url).toString();
  const api = (path: string, init: RequestInit = {}) =>
    fetch(url(path), {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) },
    });
  const json = (path: string, body: unknown, method = 'POST') =>
    api(path, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    dir = await scratchDir();
    node = await startNode({ port: 0, host: '127.0.0.1', dataDir: dir.path, maxUploadBytes: 3_000_000 });
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
    cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const t = await fetch(url('/api/tokens'), {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', origin },
      body: '{}',
    });
    token = ((await t.json()) as { token: string }).token;
  });
  afterAll(async () => {
    await node?.close();
    await dir?.remove();
  });

  it('a show with every feature passes the rules and reads back in a feed parser', async () => {
    expect(
      (
        await json('/api/shows', {
          slug: 'ada',
          title: 'Ada',
          description: 'Talks',
          categories: ['technology', 'documentary'],
        })
      ).status,
    ).toBe(201);
    const art = await readFile(join(demoMediaDir, 'artwork.png'));
    expect((await api('/api/shows/ada/artwork', { method: 'PUT', body: art })).status).toBe(200);
    // Settings through the dashboard form (what a creator clicks).
    const form = await fetch(url('/dashboard/shows/ada/settings'), {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        ownerName: 'Ada L',
        ownerEmail: 'feeds@example.org',
        showType: 'episodic',
        persons: 'Ada Lovelace | host | https://ada.example/',
        locationName: 'London',
        locationGeo: 'geo:51.5,-0.12',
        funding: 'https://pay.example/ | Support Ada',
        license: 'CC-BY-4.0',
      }),
    });
    expect(form.status).toBe(303);
    const dash = await (await fetch(url('/dashboard/shows/ada'), { headers: { cookie } })).text();
    expect(dash).toContain('value="feeds@example.org"');
    // A bad setting is a 4xx with the field named, and nothing is written.
    const bad = await json('/api/shows/ada/settings', { ownerEmail: 'nope' }, 'PUT');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/^ownerEmail/);

    const up = await api('/api/uploads', {
      method: 'POST',
      body: await readFile(join(demoMediaDir, 'welcome.mp3')),
    });
    const { id: uploadId } = (await up.json()) as { id: string };
    const pub = await json('/api/shows/ada/episodes', { uploadId, title: 'One' });
    expect(pub.status).toBe(201);
    const ep = (await pub.json()) as { id: string; guid: string };
    const edit = await json(
      `/api/episodes/${ep.id}`,
      {
        title: 'One, renamed',
        season: 1,
        episodeNumber: 1,
        episodeType: 'full',
        explicit: false,
        persons: [{ name: 'Grace', role: 'guest' }],
      },
      'PUT',
    );
    expect(edit.status).toBe(200);
    expect(((await edit.json()) as { guid: string }).guid).toBe(ep.guid);
    expect((await api(`/api/episodes/${ep.id}/artwork`, { method: 'PUT', body: art })).status).toBe(200);

    const xml = await (await fetch(url('/shows/ada/feed.xml'))).text();
    expect(directoryProblems(xml)).toEqual([]);
    const feed = await new Parser({
      customFields: { item: ['itunes:season', 'itunes:episode'] },
    }).parseString(xml);
    expect(feed.itunes?.owner?.email).toBe('feeds@example.org');
    expect(feed.itunes?.categories).toEqual(['Technology', 'Society & Culture']);
    expect(xml).toContain(
      '<itunes:category text="Society &amp; Culture"><itunes:category text="Documentary"/></itunes:category>',
    );
    expect(xml).toContain(
      '<podcast:person role="host" href="https://ada.example/">Ada Lovelace</podcast:person>',
    );
    expect(xml).toContain('<podcast:location geo="geo:51.5,-0.12">London</podcast:location>');
    expect(xml).toContain('<podcast:license>CC-BY-4.0</podcast:license>');
    const item = feed.items[0] as unknown as Record<string, unknown> & Parser.Item;
    expect(item.guid).toBe(ep.guid);
    expect(item.title).toBe('One, renamed');
    expect([item['itunes:season'], item['itunes:episode']]).toEqual(['1', '1']);
    // Both images are what Apple asks for, judged from their bytes.
    for (const href of [feed.itunes?.image, (item.itunes as { image: string }).image]) {
      const res = await fetch(href as string);
      expect(res.headers.get('content-type')).toMatch(/^image\/(png|jpeg)/);
      expect(artworkProblems(sniffImage(new Uint8Array(await res.arrayBuffer())))).toEqual([]);
    }
    const enclosure = await fetch(item.enclosure!.url);
    expect(enclosure.headers.get('content-type')).toBe(item.enclosure!.type);
  });

  it('the chapter editor and the transcript form on the episode page', async () => {
    const { episodes } = (await (await fetch(url('/api/shows/ada'))).json()) as {
      episodes: Array<{ id: string }>;
    };
    const id = episodes[0]!.id;
    const post = (path: string, fields: Record<string, string>) =>
      fetch(url(path), {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie, origin, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields),
      });
    expect(
      (
        await post(`/dashboard/episodes/${id}/chapters`, {
          chapters: '0:00 | Intro\n0:02 | Part two | https://example.org/2',
        })
      ).status,
    ).toBe(303);
    expect(await (await fetch(url(`/episodes/${id}/chapters.json`))).json()).toEqual({
      version: '1.2.0',
      chapters: [
        { startTime: 0, title: 'Intro' },
        { startTime: 2, title: 'Part two', url: 'https://example.org/2' },
      ],
    });
    const bad = await post(`/dashboard/episodes/${id}/chapters`, { chapters: 'soon | Intro' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('line 1: &quot;soon&quot; is not a time');
    const vtt = 'WEBVTT\n\n00:00.000 --> 00:01.000\nWelcome to the garden\n';
    expect(
      (await post(`/dashboard/episodes/${id}/transcript`, { transcript: vtt, language: 'en' })).status,
    ).toBe(303);
    expect(
      (await post(`/dashboard/episodes/${id}/transcript`, { transcript: 'no cues here', language: 'en' }))
        .status,
    ).toBe(422);
    const xml = await (await fetch(url('/shows/ada/feed.xml'))).text();
    const href = /<podcast:transcript url="([^"]+)" type="text\/vtt" language="en" rel="captions"\/>/.exec(
      xml,
    )?.[1];
    expect(href).toBeDefined();
    const file = await fetch(href!);
    expect(file.headers.get('content-type')).toBe('text/vtt; charset=utf-8');
    expect(await file.text()).toBe(vtt);
    expect(await (await fetch(url('/search?q=garden'))).text()).toContain(`/episodes/${id}`);
    const dash = await (await fetch(url(`/dashboard/episodes/${id}`), { headers: { cookie } })).text();
    expect(dash).toContain('0:00 | Intro\n0:02 | Part two | https://example.org/2</textarea>');
  });

  it('moving away: itunes:new-feed-url, then a 301 from the feed URL', async () => {
    const settings = { ownerEmail: 'feeds@example.org', newFeedUrl: 'https://new.example/ada.xml' };
    expect((await json('/api/shows/ada/settings', settings, 'PUT')).status).toBe(200);
    const xml = await (await fetch(url('/shows/ada/feed.xml'))).text();
    expect(xml).toContain('<itunes:new-feed-url>https://new.example/ada.xml</itunes:new-feed-url>');
    expect(
      (await json('/api/shows/ada/settings', { ...settings, redirectFeed: true, locked: true }, 'PUT'))
        .status,
    ).toBe(200);
    const moved = await fetch(url('/shows/ada/feed.xml'), { redirect: 'manual' });
    expect(moved.status).toBe(301);
    expect(moved.headers.get('location')).toBe('https://new.example/ada.xml');
  });
});

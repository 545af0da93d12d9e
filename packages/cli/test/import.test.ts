import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { demoMediaDir } from '@swarmcast/catalog';
import { type RunningNode, startNode } from '@swarmcast/node';
import { scratchDir } from '@swarmcast/testkit';
import Parser from 'rss-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/main.ts';

// The old host is on loopback, which an import refuses unless the operator allows it.
process.env.SWARMCAST_IMPORT_ALLOW_PRIVATE = '1';

const media = (f: string) => readFileSync(join(demoMediaDir, f));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const fixtures = join(import.meta.dirname, '..', '..', 'catalog', 'test', 'fixtures', 'feeds');

/** The old host: a feed made by the test, its media with open byte ranges, and switches for failures. */
class OldHost {
  server!: Server;
  base = '';
  missingFixed = false;
  cutOnce = true;
  ranges: string[] = [];
  feeds = new Map<string, string>();

  async start() {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const a = this.server.address();
    this.base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse) {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const feed = this.feeds.get(path);
    if (feed)
      return void res
        .writeHead(200, { 'content-type': 'application/rss+xml' })
        .end(feed.replaceAll('{{BASE}}', this.base));
    if (path.endsWith('.json')) {
      return void res.writeHead(200, { 'content-type': 'application/json+chapters' }).end(
        JSON.stringify({
          version: '1.2.0',
          chapters: [
            { startTime: 0, title: 'Hello' },
            { startTime: 2, title: 'Middle' },
          ],
        }),
      );
    }
    if (path.endsWith('.vtt') || path.endsWith('.srt'))
      return void res
        .writeHead(200, { 'content-type': 'text/vtt' })
        .end(
          path.endsWith('.srt')
            ? '1\n00:00:00,000 --> 00:00:01,000\nbonjour\n'
            : 'WEBVTT\n\n00:00.000 --> 00:01.000\nhello tomatoes\n',
        );
    if (path.endsWith('.png'))
      return void res.writeHead(200, { 'content-type': 'image/png' }).end(media('artwork.png'));
    if (path === '/missing.mp3' && !this.missingFixed) return void res.writeHead(404).end();
    const file =
      path.includes('swarm') || path.includes('bonus')
        ? 'swarm.mp3'
        : path.includes('video')
          ? 'video.mp4'
          : 'welcome.mp3';
    const bytes = media(file);
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m) {
      this.ranges.push(`${path} ${req.headers.range}`);
      const start = Number(m[1]);
      res.writeHead(206, {
        'content-length': bytes.length - start,
        'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}`,
      });
      return void res.end(bytes.subarray(start));
    }
    res.writeHead(200, {
      'content-length': bytes.length,
      'content-type': file.endsWith('mp4') ? 'video/mp4' : 'audio/mpeg',
    });
    if (path === '/cut/video.mp4' && this.cutOnce) {
      // Half the file, then the connection breaks: the importer must resume from here.
      this.cutOnce = false;
      res.write(bytes.subarray(0, 30_000), () => res.destroy());
      return;
    }
    res.end(bytes);
  }

  close() {
    this.server.closeAllConnections();
    return new Promise<void>((r) => this.server.close(() => r()));
  }
}

const madeFeed = `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:podcast="https://podcastindex.org/namespace/1.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Moving Show</title><link>{{BASE}}/</link><description>We are moving.</description><language>de</language>
<itunes:author>Mover</itunes:author><itunes:image href="{{BASE}}/art.png"/><itunes:category text="Technology"/>
<itunes:owner><itunes:name>Mover</itunes:name><itunes:email>mover@example.org</itunes:email></itunes:owner>
<item><title>First</title><guid isPermaLink="false">old-host-1</guid><pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate>
<content:encoded><![CDATA[<p>Notes with <a href="https://example.org/">a link</a><script>alert(1)</script></p>]]></content:encoded>
<enclosure url="{{BASE}}/ep/welcome.mp3" length="66238" type="audio/mpeg"/><itunes:season>1</itunes:season><itunes:episode>1</itunes:episode>
<itunes:image href="{{BASE}}/ep1.png"/><podcast:chapters url="{{BASE}}/ep1-chapters.json" type="application/json+chapters"/></item>
<item><title>Second</title><guid isPermaLink="false">old-host-2</guid><pubDate>Tue, 02 Jan 2024 10:00:00 GMT</pubDate>
<description>Plain notes</description><enclosure url="{{BASE}}/missing.mp3" length="39128" type="audio/mpeg"/><itunes:episodeType>bonus</itunes:episodeType></item>
<item><title>Third</title><guid isPermaLink="false">old-host-3</guid><pubDate>Wed, 03 Jan 2024 10:00:00 GMT</pubDate>
<description>Video</description><enclosure url="{{BASE}}/cut/video.mp4" length="68036" type="video/mp4"/></item>
<item><title>Too big</title><guid isPermaLink="false">old-host-4</guid><pubDate>Thu, 04 Jan 2024 10:00:00 GMT</pubDate>
<description>Huge</description><enclosure url="{{BASE}}/huge/welcome.mp3" length="900000000" type="audio/mpeg"/></item>
</channel></rss>`;

function io() {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c) => (stdout += c));
  err.on('data', (c) => (stderr += c));
  return {
    io: { stdout: out, stderr: err, env: {}, signal: new AbortController().signal },
    text: () => ({ stdout, stderr }),
  };
}

/**
 * startNode binds the UDP tracker on the port number the kernel gave the TCP listener; with
 * a busy machine that UDP port may be taken (EADDRINUSE). A fresh port is the only remedy.
 */
async function startAnotherNode(dataDir: string): Promise<RunningNode> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNode({ port: 0, host: '127.0.0.1', dataDir });
    } catch (err) {
      if (attempt >= 5 || !String((err as Error).message).includes('EADDRINUSE')) throw err;
    }
  }
}

describe('moving a show in', () => {
  let node: RunningNode;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let old: OldHost;
  let token: string;
  const url = (p: string) => new URL(p, node.url).toString();

  beforeAll(async () => {
    dir = await scratchDir();
    old = new OldHost();
    await old.start();
    old.feeds.set('/feed.xml', madeFeed);
    for (const f of ['libsyn', 'anchor', 'buzzsprout', 'castopod'])
      old.feeds.set(`/${f}.xml`, readFileSync(join(fixtures, `${f}.xml`), 'utf8'));
    old.feeds.set(
      '/locked.xml',
      madeFeed.replace(
        '<language>de</language>',
        '<language>de</language><podcast:locked owner="someone@else.example">yes</podcast:locked>',
      ),
    );
    node = await startNode({
      port: 0,
      host: '127.0.0.1',
      dataDir: join(dir.path, 'b'),
      maxUploadBytes: 300_000,
      demo: false,
    });
    const origin = new URL(node.url).origin;
    const res = await fetch(url('/signup'), {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
      body: new URLSearchParams({
        email: 'mover@example.org',
        name: 'Mover',
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
  });
  afterAll(async () => {
    await node?.close();
    await old?.close();
    await dir?.remove();
  });

  const cli = async (...args: string[]) => {
    const c = io();
    const code = await main(['import', ...args, '--node', node.url, '--token', token], c.io);
    return { code, ...c.text() };
  };
  const show = async (slug: string) =>
    (await (await fetch(url(`/api/shows/${slug}`))).json()) as {
      show: { title: string; language: string; artwork: string | null; settings: { ownerEmail?: string } };
      episodes: Array<{
        id: string;
        guid: string;
        title: string;
        publishedAt: string;
        notesHtml: string | null;
        season: number | null;
        episodeNumber: number | null;
        episodeType: string;
        artwork: string | null;
        chapters: Array<{ title: string; startMs: number }>;
        media: { size: number; path: string };
        torrent: { magnet: string } | null;
      }>;
    };

  it('imports every episode it can, lists failures per episode, and a re-run fetches only what is missing', async () => {
    const first = await cli(`${old.base}/feed.xml`, '--slug', 'moving');
    expect(first.code).toBe(1);
    expect(first.stdout).toContain('imported 1, already here 0, failed 3, skipped 0');
    expect(first.stdout).toMatch(/failed Second: .*HTTP 404/);
    expect(first.stdout).toMatch(/failed Third: /);
    expect(first.stdout).toMatch(/failed Too big: .*more than this node accepts/);
    let s = await show('moving');
    expect(s.show).toMatchObject({
      title: 'Moving Show',
      language: 'de',
      settings: { ownerEmail: 'mover@example.org' },
    });
    expect(s.show.artwork).toMatch(/^moving\/artwork-/);
    expect(s.episodes).toHaveLength(1);
    const e1 = s.episodes[0]!;
    expect(e1).toMatchObject({
      guid: 'old-host-1',
      title: 'First',
      season: 1,
      episodeNumber: 1,
      episodeType: 'full',
    });
    expect(e1.publishedAt).toBe('2024-01-01T10:00:00.000Z');
    expect(e1.notesHtml).toBe(
      '<p>Notes with <a href="https://example.org/" rel="noopener nofollow">a link</a></p>',
    );
    expect(e1.chapters).toEqual([
      { title: 'Hello', startMs: 0 },
      { title: 'Middle', startMs: 2000 },
    ]);
    expect(e1.artwork).toMatch(/^moving\/artwork-/);
    expect(e1.torrent?.magnet).toMatch(/^magnet:\?xt=urn:btih:/);
    const bytes = new Uint8Array(await (await fetch(url(`/media/${e1.media.path}`))).arrayBuffer());
    expect(sha(bytes)).toBe(sha(media('welcome.mp3')));
    // The episode page shows the sanitised notes as HTML.
    expect(await (await fetch(url(`/episodes/${e1.id}`))).text()).toContain(
      '<a href="https://example.org/" rel="noopener nofollow">a link</a>',
    );

    old.missingFixed = true;
    expect(old.ranges).toEqual([]);
    const second = await cli(`${old.base}/feed.xml`, '--slug', 'moving');
    expect(second.stdout).toContain('imported 2, already here 1, failed 1, skipped 0');
    // The broken download resumed where it stopped instead of starting over.
    expect(old.ranges).toEqual(['/cut/video.mp4 bytes=30000-']);
    s = await show('moving');
    expect(s.episodes.map((e) => e.guid)).toEqual(['old-host-3', 'old-host-2', 'old-host-1']);
    const video = s.episodes[0]!;
    expect(sha(new Uint8Array(await (await fetch(url(`/media/${video.media.path}`))).arrayBuffer()))).toBe(
      sha(media('video.mp4')),
    );
    expect(s.episodes[1]?.episodeType).toBe('bonus');
    // Our feed carries the old GUIDs: apps see nothing new to download.
    const feed = await new Parser().parseURL(url('/shows/moving/feed.xml'));
    expect(feed.items.map((i) => i.guid)).toEqual(['old-host-3', 'old-host-2', 'old-host-1']);
    const third = await cli(`${old.base}/feed.xml`, '--slug', 'moving');
    expect(third.stdout).toContain('imported 0, already here 3, failed 1');
  });

  it('imports Libsyn-, Anchor-, Buzzsprout- and Castopod-shaped feeds', async () => {
    const expected: Record<string, string[]> = {
      libsyn: ['5b1e2f9c-3d4a-4c7e-9f10-2a6b8c0d1e2f', '0c9d8e7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f'],
      anchor: ['7f3c2a1b-9e8d-4c6b-a5f4-3e2d1c0b9a88'],
      buzzsprout: ['Buzzsprout-14000002', 'Buzzsprout-14000001'],
      castopod: ['https://castopod.example/@fediverse/episodes/mastodon-5'],
    };
    for (const [name, guids] of Object.entries(expected)) {
      const r = await cli(`${old.base}/${name}.xml`, '--slug', name, '--concurrency', '2');
      expect(r.code, `${name}: ${r.stdout}${r.stderr}`).toBe(0);
      expect(r.stdout, name).not.toContain('warning');
      const s = await show(name);
      expect(s.episodes.map((e) => e.guid)).toEqual(guids);
      for (const e of s.episodes) expect(e.torrent).not.toBeNull();
    }
    const castopod = (await show('castopod')).episodes[0] as unknown as {
      transcripts: Array<{ language: string; format: string }>;
    };
    expect(castopod.transcripts).toMatchObject([{ language: 'fr', format: 'srt' }]);
    const buzz = (await show('buzzsprout')).episodes[0] as unknown as {
      id: string;
      transcripts: Array<{ vttPath: string }>;
    };
    expect(buzz.transcripts).toMatchObject([{ language: 'en', format: 'vtt' }]);
    // Searchable on the portal by what is said, and captions on the page.
    expect(await (await fetch(url('/search?q=tomatoes'))).text()).toContain(`/episodes/${buzz.id}`);
    expect((await fetch(url(`/media/${buzz.transcripts[0]!.vttPath}`))).headers.get('content-type')).toBe(
      'text/vtt; charset=utf-8',
    );
    expect(await (await fetch(url(`/episodes/${buzz.id}`))).text()).toContain('data-captions=');
    expect((await show('buzzsprout')).episodes[0]?.chapters).toEqual([
      { title: 'Hello', startMs: 0 },
      { title: 'Middle', startMs: 2000 },
    ]);
  });

  it('the dashboard form starts an import and shows its progress page', async () => {
    const origin = new URL(node.url).origin;
    const form = await fetch(url('/dashboard/imports'), {
      method: 'POST',
      redirect: 'manual',
      headers: {
        authorization: `Bearer ${token}`,
        origin,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ url: `${old.base}/anchor.xml`, slug: 'anchor-again' }),
    });
    expect(form.status).toBe(303);
    const id = (form.headers.get('location') ?? '').split('/').pop() as string;
    // Follow the job until it ends (the page refreshes itself the same way).
    let state = 'running';
    while (state === 'running') {
      await new Promise((r) => setTimeout(r, 200));
      state = (
        (await (
          await fetch(url(`/api/imports/${id}`), { headers: { authorization: `Bearer ${token}` } })
        ).json()) as { state: string }
      ).state;
    }
    expect(state).toBe('done');
    const pageHtml = await (
      await fetch(url(`/dashboard/imports/${id}`), { headers: { authorization: `Bearer ${token}` } })
    ).text();
    expect(pageHtml).toContain('Finished.');
    expect(pageHtml).toContain('<h1>Import: Night Owls</h1>');
    expect(pageHtml).toContain('<td>Owls and moons</td>');
  });

  it('refuses a podcast:locked feed owned by another e-mail, and bad input, with 4xx', async () => {
    const locked = await cli(`${old.base}/locked.xml`, '--slug', 'locked');
    expect(locked.code).toBe(1);
    expect(locked.stderr).toContain('CAT_FEED_LOCKED');
    const api = (body: unknown) =>
      fetch(url('/api/imports'), {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await api({ url: 'file:///etc/passwd' })).status).toBe(400);
    expect((await api({})).status).toBe(400);
    const notXml = await cli(join(fixtures, '..', '..', 'import-parse.test.ts'));
    expect(notXml.stderr).toContain('CAT_BAD_FEED');
  });

  it('round trip: our own feed imported into a second node gives the same show, GUIDs and bytes', async () => {
    const a = await startAnotherNode(join(dir.path, 'a'));
    try {
      const feedUrl = new URL('/shows/swarmcast-demo/feed.xml', a.url).toString();
      const r = await cli(feedUrl, '--slug', 'demo-copy');
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const mine = (await (await fetch(new URL('/api/shows/swarmcast-demo', a.url))).json()) as Awaited<
        ReturnType<typeof show>
      >;
      const copy = await show('demo-copy');
      expect(copy.show.title).toBe(mine.show.title);
      // RSS dates have whole seconds (RFC 2822), so that is what survives the trip.
      const second = (iso: string) => Math.floor(Date.parse(iso) / 1000);
      // Episodes published within one second tie on the RSS date, so order is by GUID here.
      const rows = (list: typeof copy.episodes) =>
        list
          .map((e) => [e.guid, e.title, second(e.publishedAt)])
          .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
      expect(rows(copy.episodes)).toEqual(rows(mine.episodes));
      for (const e of copy.episodes) {
        const same = mine.episodes.find((m) => m.guid === e.guid)!;
        const ours = new Uint8Array(await (await fetch(url(`/media/${e.media.path}`))).arrayBuffer());
        const theirs = new Uint8Array(
          await (await fetch(new URL(`/media/${same.media.path}`, a.url))).arrayBuffer(),
        );
        expect(sha(ours)).toBe(sha(theirs));
      }
    } finally {
      await a.close();
    }
  }, 240_000);
});

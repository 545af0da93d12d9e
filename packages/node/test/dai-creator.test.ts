/**
 * Dynamic ad insertion as the creator sees and steers it, on a whole node: an M4A (AAC)
 * episode with ad breaks is served as the clean file and the dashboard and the API say why;
 * the show's switch (API and the dashboard's button in Chromium) turns the stitched
 * enclosure off (the plain file at once, the feed's enclosure back to /media) and on again.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import {
  type Account,
  createAccount,
  createApiToken,
  createShow,
  demoMediaDir,
  parseTranscript,
  publishEpisode,
  setTranscript,
  storeUpload,
} from '@swarmcast/catalog';
import { chromiumLaunchOptions, requireBinaries, scratchDir } from '@swarmcast/testkit';
import { chromium } from 'playwright-core';
import Parser from 'rss-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNode, startNode } from '../src/index.ts';

const tools = requireBinaries('an M4A episode made with ffmpeg', 'ffmpeg');
const browserTools = requireBinaries('the dashboard switch in Chromium', 'chromium');
const apple = 'AppleCoreMedia/1.0.0.20E247 (iPhone; U; CPU OS 16_4 like Mac OS X; en_us)';
const email = 'dai-creator@example.org';
const password = 'a long enough password';
const aacSentence =
  'ads not inserted: AAC (M4A/MP4) stitching not supported yet; listeners get the clean file';

describe.skipIf(tools.skip)('the creator and DAI', () => {
  let node: RunningNode;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let token: string;
  let who: Account;
  let mp3Id: string;
  let m4aId: string;
  let m4aPath: string;
  const url = (p: string) => new URL(p, node.url).toString();
  const api = (path: string, method = 'GET', body?: unknown) =>
    fetch(url(path), {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const enclosure = async (id: string, ext: string) => {
    const res = await fetch(url(`/dai/${id}.${ext}`), { headers: { 'user-agent': apple } });
    return { res, body: Buffer.from(await res.arrayBuffer()) };
  };
  const feedEnclosures = async () => {
    const items = (await new Parser().parseURL(url('/shows/dai-switch/feed.xml'))).items;
    return new Map(items.map((i) => [i.title!, i.enclosure!.url]));
  };
  const dashboardCookie = async () => {
    const res = await fetch(url('/login'), {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: node.url },
      body: new URLSearchParams({ email, password }).toString(),
    });
    expect(res.status).toBe(303);
    return res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
  };

  beforeAll(async () => {
    dir = await scratchDir('dai-creator-');
    node = await startNode({ port: 0, host: '127.0.0.1', dataDir: join(dir.path, 'node') });
    const account = await createAccount(node.db, { email, name: 'Ada', password, role: 'creator' });
    if (!account.ok) throw new Error(account.message);
    who = account.value;
    token = await createApiToken(node.db, who.id, 'test');
    const show = await createShow(node.db, who, { slug: 'dai-switch', title: 'DAI switch' });
    if (!show.ok) throw new Error(show.message);
    const m4a = join(dir.path, 'talk.m4a');
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=330:duration=12',
      '-c:a',
      'aac',
      '-b:a',
      '64k',
      '-y',
      m4a,
    ]);
    const publish = async (file: string, title: string) => {
      const up = await storeUpload(node.catalog, who, createReadStream(file), {});
      if (!up.ok) throw new Error(up.message);
      const ep = await publishEpisode(node.catalog, who, {
        showSlug: 'dai-switch',
        uploadId: up.value.id,
        title,
        adBreaks: [{ position: 'pre' }, { position: 'mid', atMs: 6_000 }],
      });
      if (!ep.ok) throw new Error(ep.message);
      return ep.value;
    };
    mp3Id = (await publish(join(demoMediaDir, 'welcome.mp3'), 'An MP3 talk')).id;
    const aac = await publish(m4a, 'An AAC talk');
    m4aId = aac.id;
    m4aPath = aac.media!.path;
    await node.services.warmDai();
    await node.services.dai!.preparedIdle();
  }, 180_000);
  afterAll(async () => {
    await node?.close();
    await dir?.remove();
  });

  it('serves an M4A episode with ad breaks as the clean file and tells the creator why', async () => {
    const feed = await feedEnclosures();
    expect(feed.get('An AAC talk')).toContain('/media/');
    expect(feed.get('An MP3 talk')).toMatch(/\/dai\/[^/]+\.mp3$/);

    // Even asked at the stitched URL, the M4A answers its own bytes, with the reason.
    const asked = await enclosure(m4aId, 'm4a');
    expect(asked.res.status).toBe(200);
    expect(asked.res.headers.get('x-swarmcast-dai')).toBe('plain; reason=unsupported-format');
    const clean = Buffer.from(await (await fetch(url(`/media/${m4aPath}`))).arrayBuffer());
    expect(asked.body.equals(clean)).toBe(true);
    const mp3 = await enclosure(mp3Id, 'mp3');
    expect(mp3.res.headers.get('x-swarmcast-dai')).toMatch(/^plan=/);

    const status = (await (await api('/api/shows/dai-switch/dai')).json()) as {
      dai: boolean;
      episodes: Array<{ episodeId: string; state: string; reason: string | null; text: string }>;
    };
    expect(status.dai).toBe(true);
    expect(status.episodes.find((e) => e.episodeId === m4aId)).toMatchObject({
      state: 'plain',
      reason: 'unsupported-format',
      text: aacSentence,
    });
    expect(status.episodes.find((e) => e.episodeId === mp3Id)).toMatchObject({ state: 'stitched' });

    const page = await fetch(url('/dashboard/shows/dai-switch'), {
      headers: { cookie: await dashboardCookie() },
    });
    const text = await page.text();
    expect(page.status).toBe(200);
    expect(text).toContain(aacSentence);
    expect(text).toContain('Ads in podcast apps are <strong>on</strong>');
  });

  it("switches the show's DAI off and on through the API: off is the plain file at once", async () => {
    const off = await api('/api/shows/dai-switch/dai', 'PUT', { enabled: false });
    expect(off.status).toBe(200);
    expect(((await off.json()) as { dai: boolean }).dai).toBe(false);
    const plain = await enclosure(mp3Id, 'mp3');
    expect(plain.res.headers.get('x-swarmcast-dai')).toBe('plain; reason=dai-off');
    expect((await feedEnclosures()).get('An MP3 talk')).toContain('/media/');
    const status = (await (await api('/api/shows/dai-switch/dai')).json()) as {
      episodes: Array<{ episodeId: string; reason: string | null }>;
    };
    expect(status.episodes.find((e) => e.episodeId === mp3Id)!.reason).toBe('dai-off');

    const bad = await api('/api/shows/dai-switch/dai', 'PUT', { enabled: 'yes' });
    expect(bad.status).toBe(400);
    const other = await api('/api/shows/swarmcast-demo/dai', 'PUT', { enabled: false });
    expect(other.status).toBe(403);

    const on = await api('/api/shows/dai-switch/dai', 'PUT', { enabled: true });
    expect(on.status).toBe(200);
    expect((await enclosure(mp3Id, 'mp3')).res.headers.get('x-swarmcast-dai')).toMatch(/^plan=/);
    expect((await feedEnclosures()).get('An MP3 talk')).toMatch(/\/dai\/[^/]+\.mp3$/);
  });

  it('switches DAI off and on for one episode: only that one gets the clean file', async () => {
    const up = await storeUpload(node.catalog, who, createReadStream(join(demoMediaDir, 'welcome.mp3')), {});
    if (!up.ok) throw new Error(up.message);
    const other = await publishEpisode(node.catalog, who, {
      showSlug: 'dai-switch',
      uploadId: up.value.id,
      title: 'Another MP3 talk',
      adBreaks: [{ position: 'pre' }],
    });
    if (!other.ok) throw new Error(other.message);
    const otherId = other.value.id;

    const off = await api(`/api/shows/dai-switch/episodes/${mp3Id}/dai`, 'PUT', { enabled: false });
    expect(off.status).toBe(200);
    const status = (await off.json()) as {
      dai: boolean;
      episodes: Array<{ episodeId: string; reason: string | null; episodeDai: boolean }>;
    };
    expect(status.dai).toBe(true);
    expect(status.episodes.find((e) => e.episodeId === mp3Id)).toMatchObject({
      reason: 'episode-off',
      episodeDai: false,
    });
    expect(status.episodes.find((e) => e.episodeId === otherId)).toMatchObject({
      episodeDai: true,
      reason: null,
    });
    expect((await enclosure(mp3Id, 'mp3')).res.headers.get('x-swarmcast-dai')).toBe('plain; reason=dai-off');
    expect((await enclosure(otherId, 'mp3')).res.headers.get('x-swarmcast-dai')).toMatch(/^plan=/);
    const feed = await feedEnclosures();
    expect(feed.get('An MP3 talk')).toContain('/media/');
    expect(feed.get('Another MP3 talk')).toMatch(/\/dai\/[^/]+\.mp3$/);

    // Bad input, another creator's show, an episode that is not in the show: coded 4xx.
    const put = (path: string, body: unknown) => api(path, 'PUT', body);
    expect((await put(`/api/shows/dai-switch/episodes/${mp3Id}/dai`, { enabled: 'no' })).status).toBe(400);
    expect((await put(`/api/shows/swarmcast-demo/episodes/${mp3Id}/dai`, { enabled: false })).status).toBe(
      403,
    );
    const missing = await put('/api/shows/dai-switch/episodes/not-an-episode/dai', { enabled: false });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('CAT_NOT_FOUND');

    // The dashboard's row has the episode's own button; its form turns the episode back on.
    const cookie = await dashboardCookie();
    const html = await (await fetch(url('/dashboard/shows/dai-switch'), { headers: { cookie } })).text();
    expect(html).toContain(`action="/dashboard/shows/dai-switch/episodes/${mp3Id}/dai"`);
    expect(html).toContain('off for this episode: podcast apps get the clean file');
    const form = await fetch(url(`/dashboard/shows/dai-switch/episodes/${mp3Id}/dai`), {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, origin: node.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'enabled=on',
    });
    expect(form.status).toBe(303);
    expect((await enclosure(mp3Id, 'mp3')).res.headers.get('x-swarmcast-dai')).toMatch(/^plan=/);
    expect((await feedEnclosures()).get('An MP3 talk')).toMatch(/\/dai\/[^/]+\.mp3$/);
  });

  it("serves the transcript per plan, its cues moved by that listener's ads; the feed links it", async () => {
    const srt = [
      '1\n00:00:00,500 --> 00:00:02,000\nHello and welcome.',
      '2\n00:00:05,000 --> 00:00:06,000\nRight before the break.',
      '3\n00:00:06,500 --> 00:00:08,000\nAnd we are back.',
      '4\n00:00:09,000 --> 00:00:10,000\nThe end.',
    ].join('\n\n');
    const set = await setTranscript(node.catalog, who, mp3Id, new TextEncoder().encode(srt), 'en');
    expect(set.ok).toBe(true);
    const xml = await (await fetch(url('/shows/dai-switch/feed.xml'))).text();
    const links = [...xml.matchAll(/<podcast:transcript url="([^"]+)"/g)].map((m) => m[1]);
    expect(links).toContain(url(`/dai/${mp3Id}/transcripts/en.srt`));
    expect(links).toContain(url(`/dai/${mp3Id}/transcripts/en.vtt`));

    const file = await enclosure(mp3Id, 'mp3');
    const planId = /^plan=(.+)$/.exec(file.res.headers.get('x-swarmcast-dai')!)![1]!;
    const r = await fetch(url(`/dai/${mp3Id}/transcripts/en.srt`), { headers: { 'user-agent': apple } });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-swarmcast-dai')).toBe(`plan=${planId}`);
    const served = parseTranscript(new Uint8Array(await r.arrayBuffer()));
    if (!served.ok) throw new Error(served.message);
    const row = await node.db.query<{
      layout: { breaks: Array<{ atMs: number; startMs: number; endMs: number }> };
    }>('select layout from ads_stitch_plans where id = $1', [planId]);
    const breaks = row.rows[0]!.layout.breaks;
    expect(breaks.length).toBe(2); // the pre-roll and the mid-roll at 6 s hold ads
    const moved = (ms: number, strictly: boolean) =>
      ms +
      breaks
        .filter((b) => (strictly ? b.atMs < ms : b.atMs <= ms))
        .reduce((n, b) => n + b.endMs - b.startMs, 0);
    const original = [
      [500, 2000],
      [5000, 6000],
      [6500, 8000],
      [9000, 10000],
    ] as const;
    served.value.cues.forEach((c, i) => {
      const [a, z] = original[i]!;
      expect(Math.abs(c.startMs - moved(a, false))).toBeLessThanOrEqual(1);
      // The cue that ends where the mid-roll begins still ends before the ad.
      expect(Math.abs(c.endMs - moved(z, true))).toBeLessThanOrEqual(1);
      for (const b of breaks)
        expect(c.startMs >= b.endMs || c.endMs <= b.startMs, `cue ${i} in an ad`).toBe(true);
    });
    expect(served.value.cues.map((c) => c.text)).toEqual([
      'Hello and welcome.',
      'Right before the break.',
      'And we are back.',
      'The end.',
    ]);
    // The same plan's WebVTT captions and JSON agree; another listener has its own plan.
    const vtt = await fetch(url(`/dai/${mp3Id}/transcripts/en.vtt`), { headers: { 'user-agent': apple } });
    const vttCues = parseTranscript(new Uint8Array(await vtt.arrayBuffer()));
    expect(vttCues.ok && vttCues.value.cues.map((c) => c.startMs)).toEqual(
      served.value.cues.map((c) => c.startMs),
    );
    const json = await fetch(url(`/dai/${mp3Id}/transcripts/en.json`), { headers: { 'user-agent': apple } });
    const jsonCues = parseTranscript(new Uint8Array(await json.arrayBuffer()));
    expect(jsonCues.ok && jsonCues.value.cues.map((c) => c.endMs)).toEqual(
      served.value.cues.map((c) => c.endMs),
    );
    expect((await fetch(url(`/dai/${mp3Id}/transcripts/de.srt`))).status).toBe(404);
    expect((await fetch(url(`/dai/${mp3Id}/transcripts/en.txt`))).status).toBe(404);
  });

  it.skipIf(browserTools.skip)(
    "the dashboard's button turns ads in podcast apps off and on (Chromium)",
    async () => {
      const browser = await chromium.launch(chromiumLaunchOptions(join(dir.path, 'home')));
      try {
        const page = await (await browser.newContext()).newPage();
        await page.goto(url('/login'));
        await page.getByLabel('Email').fill(email);
        await page.getByLabel('Password').fill(password);
        await page.getByRole('button', { name: 'Log in' }).click();
        await page.waitForURL(/\/dashboard/);
        await page.goto(url('/dashboard/shows/dai-switch'));
        expect(await page.locator('#dai-state').textContent()).toContain('are on');
        expect(await page.locator(`#dai-episodes tr[data-episode="${m4aId}"]`).textContent()).toContain(
          aacSentence,
        );
        await page.getByRole('button', { name: 'Turn off ads in podcast apps' }).click();
        await page.waitForURL(/\/dashboard\/shows\/dai-switch/);
        expect(await page.locator('#dai-state').textContent()).toContain('are off');
        expect(
          await page.locator(`#dai-episodes tr[data-episode="${mp3Id}"]`).getAttribute('data-state'),
        ).toBe('plain');
        expect((await enclosure(mp3Id, 'mp3')).res.headers.get('x-swarmcast-dai')).toBe(
          'plain; reason=dai-off',
        );

        await page.getByRole('button', { name: 'Turn on ads in podcast apps' }).click();
        await page.waitForURL(/\/dashboard\/shows\/dai-switch/);
        expect(await page.locator('#dai-state').textContent()).toContain('are on');
        expect(
          await page.locator(`#dai-episodes tr[data-episode="${mp3Id}"]`).getAttribute('data-state'),
        ).toBe('stitched');
        expect((await enclosure(mp3Id, 'mp3')).res.headers.get('x-swarmcast-dai')).toMatch(/^plan=/);
      } finally {
        await browser.close();
      }
    },
  );
});

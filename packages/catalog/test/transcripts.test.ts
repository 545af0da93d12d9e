import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Db, ManualClock } from '@swarmcast/platform';
import { scratchDir } from '@swarmcast/testkit';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Account,
  type CatalogContext,
  createAccount,
  createShow,
  type EpisodeDetail,
  getShow,
  parseTranscript,
  publishEpisode,
  renderChapters,
  renderFeed,
  renderTranscript,
  search,
  setChapters,
  setTranscript,
  storeUpload,
  toWebVtt,
} from '../src/index.ts';
import { engines } from './engines.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const srt =
  '1\r\n00:00:00,000 --> 00:00:01,500\r\nHello <font color="red">tomatoes</font>\r\n\r\n2\r\n00:00:01,500 --> 00:00:03,000\r\nSecond line\r\n';
const vtt =
  'WEBVTT Kind: captions\n\nNOTE a comment\n\n00:00.000 --> 00:01.500 align:start\n<v Ada>Hello</v>\n\n01:00:00.000 --> 01:00:01.000\nlate\n';
const json = JSON.stringify({
  version: '1.0.0',
  segments: [{ speaker: 'Ada', startTime: 0, endTime: 1.5, body: 'Hi & <b>bye</b>' }],
});

describe('renderTranscript', () => {
  it('writes SRT, WebVTT and JSON that read back as the same cues', () => {
    const cues = [
      { startMs: 0, endMs: 1500, text: 'First words.' },
      { startMs: 3_723_004, endMs: 3_725_000, text: 'Two\nlines', speaker: 'Ada' },
    ];
    for (const format of ['srt', 'vtt', 'json'] as const) {
      const back = parseTranscript(new TextEncoder().encode(renderTranscript(format, cues)));
      expect(back.ok && back.value.format).toBe(format);
      if (!back.ok) continue;
      expect(back.value.cues.map((c) => [c.startMs, c.endMs])).toEqual(cues.map((c) => [c.startMs, c.endMs]));
      expect(back.value.cues[0]!.text).toBe('First words.');
      expect(back.value.cues[1]!.text).toContain('lines');
    }
  });
});

describe('parseTranscript', () => {
  it('reads SRT, WebVTT and Podcasting 2.0 JSON by their content', () => {
    expect(parseTranscript(enc(srt))).toEqual({
      ok: true,
      value: {
        format: 'srt',
        cues: [
          { startMs: 0, endMs: 1500, text: 'Hello tomatoes' },
          { startMs: 1500, endMs: 3000, text: 'Second line' },
        ],
      },
    });
    const v = parseTranscript(enc(`\ufeff${vtt}`));
    expect(v.ok && v.value.format).toBe('vtt');
    expect(v.ok && v.value.cues).toEqual([
      { startMs: 0, endMs: 1500, text: 'Hello' },
      { startMs: 3_600_000, endMs: 3_601_000, text: 'late' },
    ]);
    expect(parseTranscript(enc(json))).toEqual({
      ok: true,
      value: { format: 'json', cues: [{ startMs: 0, endMs: 1500, text: 'Hi & bye', speaker: 'Ada' }] },
    });
  });

  it.each([
    ['empty', ''],
    ['no cues', 'WEBVTT\n'],
    ['end before start', '1\n00:00:02,000 --> 00:00:01,000\nx\n'],
    ['bad timing', 'WEBVTT\n\n00:00:61.000 --> 00:01:00.000\nx\n'],
    ['SRT timing with a dot', '1\n00:00:01.000 --> 00:00:02.000\nx\n'],
    ['JSON without segments', '{"version":"1.0.0"}'],
    ['JSON with a negative time', '{"segments":[{"startTime":-1,"endTime":1,"body":"x"}]}'],
    ['broken JSON', '{"segments":'],
    ['plain prose', 'This is not a transcript.'],
  ])('refuses %s', (_name, text) => {
    expect(parseTranscript(enc(text))).toMatchObject({ ok: false, code: 'CAT_BAD_TRANSCRIPT' });
  });

  it('refuses binary, non-UTF-8 and oversized input', () => {
    expect(parseTranscript(new Uint8Array([0xff, 0xfe, 0x00, 0x80]))).toMatchObject({ ok: false });
    expect(parseTranscript(new Uint8Array(2 * 1024 * 1024 + 1))).toMatchObject({ ok: false });
  });

  it('writes WebVTT whose cue text cannot break out of the cue', () => {
    expect(
      toWebVtt([{ startMs: 61_001, endMs: 3_723_004, text: 'a --> b <c> &\n\n\nd', speaker: 'x>y' }]),
    ).toBe('WEBVTT\n\n00:01:01.001 --> 01:02:03.004\n<v x&gt;y>a --&gt; b &lt;c&gt; &amp;\nd\n');
    const round = parseTranscript(enc(toWebVtt([{ startMs: 0, endMs: 1000, text: 'plain' }])));
    expect(round.ok && round.value.cues).toEqual([{ startMs: 0, endMs: 1000, text: 'plain' }]);
  });
});

const all = await engines('transcripts and chapters');
for (const engine of all) {
  describe.skipIf(engine.skip)(`transcripts and chapters on ${engine.name}`, () => {
    let db: Db;
    let ctx: CatalogContext;
    let ada: Account;
    let bob: Account;
    let ep: EpisodeDetail;
    let dir: Awaited<ReturnType<typeof scratchDir>>;

    beforeAll(async () => {
      db = await engine.open();
      dir = await scratchDir();
      ctx = {
        db,
        clock: new ManualClock(Date.UTC(2026, 5, 1)),
        mediaDir: join(dir.path, 'media'),
        uploadsDir: join(dir.path, 'uploads'),
        maxUploadBytes: 1_000_000,
        mediaUrl: (p) => `http://node.test/media/${p}`,
        publicUrl: () => 'http://node.test',
        trackers: () => [],
        torrents: null,
      };
      const a = await createAccount(db, {
        email: 'ada@example.org',
        name: 'Ada',
        password: 'correct horse battery',
      });
      const b = await createAccount(db, {
        email: 'bob@example.org',
        name: 'Bob',
        password: 'another long one',
      });
      if (!a.ok || !b.ok) throw new Error('setup');
      ada = a.value;
      bob = b.value;
      await createShow(db, ada, { slug: 'ada', title: 'Ada' });
      const file = join(import.meta.dirname, '..', 'demo-media', 'welcome.mp3');
      const up = await storeUpload(ctx, ada, createReadStream(file), {
        declaredBytes: (await stat(file)).size,
      });
      if (!up.ok) throw new Error(up.message);
      const pub = await publishEpisode(ctx, ada, {
        showSlug: 'ada',
        uploadId: up.value.id,
        title: 'Welcome',
      });
      if (!pub.ok) throw new Error(pub.message);
      ep = pub.value;
    });
    afterAll(async () => {
      await db?.close();
      await engine.teardown();
      await dir?.remove();
    });

    it('stores a transcript with a WebVTT copy, links it in the feed and finds the episode by its words', async () => {
      expect(await search(db, 'zucchini')).toEqual([]);
      expect(await setTranscript(ctx, bob, ep.id, enc(srt))).toMatchObject({
        ok: false,
        code: 'CAT_FORBIDDEN',
      });
      expect(await setTranscript(ctx, ada, ep.id, enc('nonsense'))).toMatchObject({
        ok: false,
        code: 'CAT_BAD_TRANSCRIPT',
      });
      const r = await setTranscript(ctx, ada, ep.id, enc(srt.replace('tomatoes', 'zucchini')), 'en');
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      const [t] = r.value.transcripts;
      expect(t).toMatchObject({ language: 'en', format: 'srt' });
      expect(await readFile(join(ctx.mediaDir, t!.path), 'utf8')).toContain('zucchini');
      expect(await readFile(join(ctx.mediaDir, t!.vttPath), 'utf8')).toMatch(
        /^WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello zucchini/,
      );
      const hits = await search(db, 'zucchini');
      expect(hits.map((h) => [h.kind, h.id])).toEqual([['episode', ep.id]]);
      const show = (await getShow(db, 'ada'))!;
      const item = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@' }).parse(
        renderFeed(show, [r.value], {
          feed: 'http://node.test/f',
          showPage: 'http://node.test/s',
          episodePage: (id) => `http://node.test/e/${id}`,
          media: (p) => `http://node.test/media/${p}`,
          torrent: (id) => `http://node.test/${id}.torrent`,
          chapters: (id) => `http://node.test/${id}/chapters.json`,
        }),
      ).rss.channel.item;
      expect(item['podcast:transcript']).toEqual([
        { '@url': `http://node.test/media/${t!.path}`, '@type': 'application/x-subrip', '@language': 'en' },
        {
          '@url': `http://node.test/media/${t!.vttPath}`,
          '@type': 'text/vtt',
          '@language': 'en',
          '@rel': 'captions',
        },
      ]);
      // A new transcript in the same language replaces the old one (and its files).
      const again = await setTranscript(ctx, ada, ep.id, enc(vtt), 'en');
      expect(again.ok && again.value.transcripts.map((x) => x.format)).toEqual(['vtt']);
      expect(await search(db, 'zucchini')).toEqual([]);
      await expect(stat(join(ctx.mediaDir, t!.path))).rejects.toThrow();
    });

    it('the chapter editor: validated, sorted, with links and images in the JSON', async () => {
      expect(await setChapters(ctx, bob, ep.id, [])).toMatchObject({ ok: false, code: 'CAT_FORBIDDEN' });
      for (const bad of [
        [{ startMs: ep.durationMs, title: 'after the end' }],
        [{ startMs: 0, title: '' }],
        [
          { startMs: 0, title: 'a' },
          { startMs: 0, title: 'b' },
        ],
        [{ startMs: 0, title: 'a', url: 'javascript:alert(1)' }],
        [{ startMs: 1.5, title: 'a' }],
        'not a list',
      ])
        expect(await setChapters(ctx, ada, ep.id, bad)).toMatchObject({ ok: false, code: 'CAT_BAD_INPUT' });
      const r = await setChapters(ctx, ada, ep.id, [
        { startMs: 2000, title: 'Second', url: 'https://example.org/2' },
        { startMs: 0, title: 'First', img: 'https://example.org/1.png' },
      ]);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(JSON.parse(renderChapters(r.value))).toEqual({
        version: '1.2.0',
        chapters: [
          { startTime: 0, title: 'First', img: 'https://example.org/1.png' },
          { startTime: 2, title: 'Second', url: 'https://example.org/2' },
        ],
      });
    });
  });
}

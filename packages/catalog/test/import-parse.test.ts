import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseChaptersJson } from '../src/import/chapters-json.ts';
import { parseFeed } from '../src/import/parse-feed.ts';
import { notesText, sanitizeNotes } from '../src/import/sanitize.ts';

const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, 'fixtures', 'feeds', `${name}.xml`), 'utf8').replaceAll(
    '{{BASE}}',
    'https://old.example',
  );

function parsed(name: string) {
  const r = parseFeed(fixture(name));
  if (!r.ok) throw new Error(r.message);
  return r.value;
}

describe('feeds in the shapes of the big hosts', () => {
  it('Libsyn: CDATA notes sanitised, seasons, trailer, nested category, owner', () => {
    const f = parsed('libsyn');
    expect(f.title).toBe('Garden Talk');
    expect(f.categories).toEqual(['leisure > home & garden']);
    expect(f.settings.ownerEmail).toBe('host@gardentalk.example');
    expect(f.artworkUrl).toBe('https://old.example/libsyn/artwork.png');
    const [tomatoes, welcome] = f.episodes;
    expect(tomatoes?.guid).toBe('5b1e2f9c-3d4a-4c7e-9f10-2a6b8c0d1e2f');
    expect(tomatoes?.publishedAt.toISOString()).toBe('2024-01-08T08:00:00.000Z');
    // content:encoded wins over description; scripts, handlers and javascript: links go.
    expect(tomatoes?.notesHtml).toBe(
      '<p>All about <a href="https://example.org/t" rel="noopener nofollow">tomatoes</a>.</p><p><a rel="noopener nofollow">x</a></p>',
    );
    expect(tomatoes?.description).toBe('All about tomatoes.\nx');
    expect(tomatoes?.enclosure).toEqual({
      url: 'https://old.example/libsyn/secure/gardentalk/welcome.mp3?dest-id=123456',
      length: 66238,
      type: 'audio/mpeg',
    });
    expect([tomatoes?.season, tomatoes?.episodeNumber, tomatoes?.episodeType]).toEqual([1, 2, 'full']);
    expect(welcome?.episodeType).toBe('trailer');
  });

  it('Anchor: one-line XML, "No" as explicit, en-us', () => {
    const f = parsed('anchor');
    expect(f.title).toBe('Night Owls');
    expect(f.language).toBe('en-us');
    expect(f.explicit).toBe(false);
    expect(f.categories).toEqual(['society & culture']);
    expect(f.episodes).toHaveLength(1);
    expect(f.episodes[0]?.guid).toBe('7f3c2a1b-9e8d-4c6b-a5f4-3e2d1c0b9a88');
    expect(f.episodes[0]?.explicit).toBe(false);
    expect(f.episodes[0]?.enclosure.url).toContain('/anchor/s/abc/podcast/play/80000/https%3A%2F%2F');
  });

  it('Buzzsprout: serial, funding, persons, transcripts, chapters, bonus', () => {
    const f = parsed('buzzsprout');
    expect(f.title).toBe('Code & Coffee');
    expect(f.settings.showType).toBe('serial');
    expect(f.settings.funding).toEqual([
      { url: 'https://www.buzzsprout.com/2001234/support', text: 'Support the show' },
    ]);
    expect(f.settings.persons).toEqual([{ name: 'Ada', role: 'host', href: 'https://ada.example/' }]);
    expect(f.categories).toEqual(['technology', 'education > how to']);
    const [two, bonus] = f.episodes;
    expect(two?.guid).toBe('Buzzsprout-14000002');
    expect(two?.publishedAt.toISOString()).toBe('2024-01-10T17:00:00.000Z');
    expect(two?.transcripts).toEqual([
      {
        url: 'https://old.example/buzzsprout/2001234/14000002/transcript.vtt',
        type: 'text/vtt',
        language: 'en',
      },
    ]);
    expect(two?.chaptersUrl).toBe('https://old.example/buzzsprout/2001234/14000002/chapters.json');
    expect(two?.persons).toEqual([{ name: 'Grace', role: 'guest', href: 'https://grace.example/' }]);
    expect(two?.notesHtml).toBe(
      '<p>Why tests matter. <strong>Bold</strong> claims.</p><ul><li>one</li><li>two</li></ul>',
    );
    expect([bonus?.episodeType, bonus?.explicit]).toEqual(['bonus', true]);
  });

  it('Castopod: location, license, person images, permalink GUIDs; a post without audio is skipped', () => {
    const f = parsed('castopod');
    expect(f.language).toBe('fr');
    expect(f.settings.location).toEqual({ name: 'Paris, France', geo: 'geo:48.8566,2.3522', osm: 'R7444' });
    expect(f.settings.license).toEqual({
      identifier: 'cc-by-sa-4.0',
      url: 'https://creativecommons.org/licenses/by-sa/4.0/',
    });
    expect(f.settings.persons?.[0]?.img).toBe('https://old.example/castopod/media/persons/camille.png');
    expect(f.episodes).toHaveLength(1);
    expect(f.episodes[0]?.guid).toBe('https://castopod.example/@fediverse/episodes/mastodon-5');
    expect(f.episodes[0]?.transcripts[0]?.type).toBe('application/srt');
    expect(f.skipped).toEqual([{ title: 'A post without audio', reason: 'no http(s) enclosure' }]);
  });
});

describe('hostile feeds', () => {
  const minimal = (items: string, head = '') =>
    `<?xml version="1.0"?>${head}<rss version="2.0"><channel><title>T</title>${items}</channel></rss>`;

  it('refuses DOCTYPEs (entity expansion), non-XML, non-RSS and oversized input', () => {
    const laughs = `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>`;
    expect(parseFeed(minimal('', laughs))).toMatchObject({ ok: false, code: 'CAT_BAD_FEED' });
    expect(parseFeed('not xml at all <')).toMatchObject({ ok: false, code: 'CAT_BAD_FEED' });
    expect(parseFeed('<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>')).toMatchObject({
      ok: false,
    });
    expect(parseFeed('<rss><channel><link>x</link></channel></rss>')).toMatchObject({
      ok: false,
      message: 'the feed has no title',
    });
    expect(parseFeed(' '.repeat(16 * 1024 * 1024 + 1))).toMatchObject({ ok: false, code: 'CAT_BAD_FEED' });
  });

  it('drops non-http enclosures and links, control characters, repeated GUIDs', () => {
    const r = parseFeed(
      minimal(`
<item><title>a&#x1;b</title><guid>g1</guid><enclosure url="file:///etc/passwd" length="1" type="audio/mpeg"/></item>
<item><title>ok</title><guid>g2</guid><enclosure url="https://x.example/a.mp3" length="-5" type="audio/mpeg"/>
  <itunes:image href="javascript:alert(1)"/><podcast:chapters url="ftp://x/c.json"/><itunes:season>1e9</itunes:season></item>
<item><title>again</title><guid>g2</guid><enclosure url="https://x.example/b.mp3" length="1" type="audio/mpeg"/></item>
<item><title>no guid</title><enclosure url="https://x.example/c.mp3" length="1" type="audio/mpeg"/></item>`),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.skipped).toEqual([
      { title: 'ab', reason: 'no http(s) enclosure' },
      { title: 'again', reason: 'GUID g2 repeats' },
    ]);
    const [ok, noGuid] = r.value.episodes;
    expect(ok).toMatchObject({ guid: 'g2', artworkUrl: null, chaptersUrl: null, season: null });
    expect(ok?.enclosure.length).toBeNull();
    // Without a GUID apps key on the enclosure URL, so do we.
    expect(noGuid?.guid).toBe('https://x.example/c.mp3');
  });

  it('prefers the default alternate enclosure of the same type (a DAI host stitches the enclosure)', () => {
    const r = parseFeed(
      minimal(`<item><title>t</title><guid>g</guid><enclosure url="https://h.example/dai/1.mp3" length="9" type="audio/mpeg"/>
<podcast:alternateEnclosure type="audio/mpeg" length="5" default="true"><podcast:source uri="https://h.example/media/1.mp3"/>
<podcast:source uri="https://h.example/1.torrent" contentType="application/x-bittorrent"/></podcast:alternateEnclosure></item>
<item><title>u</title><guid>h</guid><enclosure url="https://h.example/2.mp3" length="9" type="audio/mpeg"/>
<podcast:alternateEnclosure type="audio/opus" length="5" default="true"><podcast:source uri="https://h.example/2.opus"/></podcast:alternateEnclosure></item>`),
    );
    expect(r.ok && r.value.episodes.map((e) => e.enclosure)).toEqual([
      { url: 'https://h.example/media/1.mp3', length: 5, type: 'audio/mpeg' },
      { url: 'https://h.example/2.mp3', length: 9, type: 'audio/mpeg' },
    ]);
  });

  it('sanitises show notes by allowlist', () => {
    expect(
      sanitizeNotes(
        '<iframe src="https://evil"></iframe><style>p{}</style><p style="x" onmouseover="y">hi</p>',
      ),
    ).toBe('<p>hi</p>');
    expect(sanitizeNotes('<a href="//evil.example/">x</a>')).toBe('<a rel="noopener nofollow">x</a>');
    expect(notesText('<p>a &amp;lt; b</p><p>c</p>')).toBe('a &lt; b\nc');
  });

  it('reads JSON chapters; refuses malformed ones', () => {
    expect(
      parseChaptersJson(
        JSON.stringify({
          version: '1.2.0',
          chapters: [{ startTime: 60.5, title: 'B' }, { startTime: 0, title: 'A' }, { startTime: 5 }],
        }),
      ),
    ).toEqual({
      ok: true,
      value: [
        { title: 'A', startMs: 0 },
        { title: 'B', startMs: 60_500 },
      ],
    });
    expect(parseChaptersJson('{')).toMatchObject({ ok: false });
    expect(parseChaptersJson('{"chapters":[{"startTime":-1,"title":"x"}]}')).toMatchObject({ ok: false });
    expect(parseChaptersJson('{"chapters":[{"startTime":"NaN","title":"x"}]}')).toMatchObject({ ok: false });
    expect(parseChaptersJson('[]')).toMatchObject({ ok: false });
  });
});

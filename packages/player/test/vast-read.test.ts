import { DOMParser } from '@xmldom/xmldom';
import { describe, expect, it } from 'vitest';
import { pickMediaFile, readVast } from '../src/vast-read.ts';

const parse = (s: string) => new DOMParser().parseFromString(s, 'text/xml');
const track = (ev: string, extra = '') =>
  `<Tracking event="${ev}"${extra}><![CDATA[https://n.example/beacon/ad/${ev}?t=T&ts=[TIMESTAMP]&ah=[ADPLAYHEAD]&cb=[CACHEBUSTING]]]></Tracking>`;
const ad = (id: string, seq: number, skip: string) => `
<Ad id="${id}" sequence="${seq}"><InLine>
  <AdSystem version="0.1.0">Swarmcast</AdSystem><AdServingId>dec-${id}</AdServingId><AdTitle>t</AdTitle>
  <Impression id="a"><![CDATA[https://n.example/beacon/ad/impression?t=${id}]]></Impression>
  <Impression id="b"><![CDATA[https://third.example/imp?x=${id}]]></Impression>
  <Error><![CDATA[https://n.example/beacon/ad/error?t=${id}&code=[ERRORCODE]]]></Error>
  <Creatives><Creative id="c-${id}" sequence="1"><UniversalAdId idRegistry="swarmcast">${id}</UniversalAdId>
    <Linear${skip}><Duration>00:00:20.000</Duration>
      <TrackingEvents>${['start', 'firstQuartile', 'midpoint', 'thirdQuartile', 'complete', 'pause', 'resume', 'mute', 'unmute', 'skip'].map((e) => track(e)).join('')}
        ${track('progress', ' offset="00:00:05.000"')}${track('progress', ' offset="50%"')}</TrackingEvents>
      <MediaFiles>
        <MediaFile delivery="progressive" type="audio/mpeg" bitrate="128"><![CDATA[https://n.example/ads/media/${id}.mp3]]></MediaFile>
        <MediaFile delivery="progressive" type="audio/ogg" bitrate="64"><![CDATA[https://n.example/ads/media/${id}.ogg]]></MediaFile>
      </MediaFiles></Linear></Creative></Creatives>
</InLine></Ad>`;
const vast = (body: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><VAST version="4.3" xmlns="http://www.iab.com/VAST">${body}</VAST>`;

describe('readVast (@dailymotion/vast-client)', () => {
  it('reads a pod in sequence order with every tracker', async () => {
    const r = await readVast(parse(vast(ad('b', 2, '') + ad('a', 1, ' skipoffset="00:00:05.000"'))));
    expect(r.error).toBeNull();
    expect(r.ads.map((a) => [a.adId, a.sequence, a.durationMs, a.skipOffsetMs, a.adServingId])).toEqual([
      ['a', 1, 20_000, 5000, 'dec-a'],
      ['b', 2, 20_000, null, 'dec-b'],
    ]);
    const a = r.ads[0];
    expect(a?.trackers.impression).toEqual([
      'https://n.example/beacon/ad/impression?t=a',
      'https://third.example/imp?x=a',
    ]);
    expect(a?.trackers.error).toEqual(['https://n.example/beacon/ad/error?t=a&code=[ERRORCODE]']);
    expect(Object.keys(a?.trackers.events ?? {}).sort()).toEqual([
      'complete',
      'firstQuartile',
      'midpoint',
      'mute',
      'pause',
      'resume',
      'skip',
      'start',
      'thirdQuartile',
      'unmute',
    ]);
    expect(a?.trackers.events.start).toEqual([
      'https://n.example/beacon/ad/start?t=T&ts=[TIMESTAMP]&ah=[ADPLAYHEAD]&cb=[CACHEBUSTING]',
    ]);
    expect(a?.trackers.progress.map((p) => p.offsetMs)).toEqual([5000, 10_000]);
    expect(a?.mediaFiles.map((f) => [f.mimeType, f.bitrateKbps])).toEqual([
      ['audio/mpeg', 128],
      ['audio/ogg', 64],
    ]);
  });

  it.each([
    ['an empty VAST is no ad (303)', vast(''), 303],
    ['not XML VAST at all (100 or 303)', '<html/>', 'either'],
    [
      'an ad with no linear creative',
      vast(
        '<Ad id="x"><InLine><AdSystem>s</AdSystem><AdTitle>t</AdTitle><Impression>https://i</Impression><Creatives></Creatives></InLine></Ad>',
      ),
      303,
    ],
  ])('hostile input: %s', async (_name, xml, code) => {
    const r = await readVast(parse(xml));
    expect(r.ads).toEqual([]);
    if (code === 'either') expect([100, 303]).toContain(r.error);
    else expect(r.error).toBe(code);
  });

  it('keeps the VAST-level error URLs for a no-fill', async () => {
    const r = await readVast(
      parse(vast('<Error><![CDATA[https://n.example/nofill?code=[ERRORCODE]]]></Error>')),
    );
    expect(r.error).toBe(303);
    expect(r.noAdErrorUrls).toEqual(['https://n.example/nofill?code=[ERRORCODE]']);
  });
});

describe('readVast: click-through and companions', () => {
  // The shape packages/ads renders: VideoClicks in the Linear, a companion Creative beside it.
  const withExtras = (click: string, companion: string) =>
    vast(`<Ad id="c1"><InLine><AdSystem>s</AdSystem><AdTitle>t</AdTitle>
<Impression><![CDATA[https://n.example/imp]]></Impression><Creatives>
<Creative id="c1-linear"><Linear><Duration>00:00:06.000</Duration>
<MediaFiles><MediaFile delivery="progressive" type="audio/mpeg"><![CDATA[https://n.example/a.mp3]]></MediaFile></MediaFiles>
<VideoClicks><ClickTracking id="c1"><![CDATA[https://n.example/beacon/ad/click?t=T&ts=[TIMESTAMP]]]></ClickTracking>${click}</VideoClicks>
</Linear></Creative>
<Creative id="c1-companion"><CompanionAds>${companion}</CompanionAds></Creative>
</Creatives></InLine></Ad>`);

  it('reads ClickThrough, ClickTracking and an image companion with its link', async () => {
    const r = await readVast(
      parse(
        withExtras(
          '<ClickThrough><![CDATA[https://shop.example/spring?x=1]]></ClickThrough>',
          '<Companion width="300" height="250"><StaticResource creativeType="image/png"><![CDATA[https://n.example/c.png]]></StaticResource><AltText>Spring sale</AltText><CompanionClickThrough>https://shop.example/c</CompanionClickThrough><CompanionClickTracking><![CDATA[https://n.example/cc]]></CompanionClickTracking></Companion>',
        ),
      ),
    );
    const ad = r.ads[0]!;
    expect(ad.clickThrough).toBe('https://shop.example/spring?x=1');
    expect(ad.clickTracking).toEqual(['https://n.example/beacon/ad/click?t=T&ts=[TIMESTAMP]']);
    expect(ad.companions).toEqual([
      {
        width: 300,
        height: 250,
        imageUrl: 'https://n.example/c.png',
        text: 'Spring sale',
        clickThrough: 'https://shop.example/c',
        clickTracking: ['https://n.example/cc'],
      },
    ]);
  });

  it('a text companion (HTMLResource as ads escapes it) becomes plain text', async () => {
    const r = await readVast(
      parse(
        withExtras(
          '',
          '<Companion width="300" height="60"><HTMLResource>&lt;p&gt;Tom &amp;amp; Jerry&amp;#39;s &amp;lt;b&amp;gt;sale&amp;lt;/b&amp;gt;&lt;/p&gt;</HTMLResource></Companion>',
        ),
      ),
    );
    const ad = r.ads[0]!;
    expect(ad.clickThrough).toBeNull();
    expect(ad.companions).toHaveLength(1);
    // The markup is gone; what looked like a tag inside the text stays visible text.
    expect(ad.companions[0]!.text).toBe("Tom & Jerry's <b>sale</b>");
    expect(ad.companions[0]!.imageUrl).toBeNull();
  });

  it.each([
    ['javascript: click-through', '<ClickThrough>javascript:alert(1)</ClickThrough>', ''],
    ['relative click-through', '<ClickThrough>/steal</ClickThrough>', ''],
    ['data: click-through', '<ClickThrough>data:text/html,x</ClickThrough>', ''],
    [
      'companion image with a javascript: URL and no text',
      '',
      '<Companion width="1" height="1"><StaticResource creativeType="image/png">javascript:alert(1)</StaticResource></Companion>',
    ],
    [
      'companion that is a script, not an image',
      '',
      '<Companion width="1" height="1"><StaticResource creativeType="application/javascript">https://evil.example/x.js</StaticResource></Companion>',
    ],
    [
      'iframe-only companion',
      '',
      '<Companion width="1" height="1"><IFrameResource>https://evil.example/</IFrameResource></Companion>',
    ],
  ])('hostile input: %s is dropped', async (_name, click, companion) => {
    const r = await readVast(parse(withExtras(click, companion)));
    expect(r.ads).toHaveLength(1);
    expect(r.ads[0]!.clickThrough).toBeNull();
    expect(r.ads[0]!.companions).toEqual([]);
  });

  it('a companion link that is not http(s) is dropped but its image stays', async () => {
    const r = await readVast(
      parse(
        withExtras(
          '',
          '<Companion width="10" height="10"><StaticResource creativeType="image/gif">https://n.example/c.gif</StaticResource><CompanionClickThrough>javascript:alert(1)</CompanionClickThrough></Companion>',
        ),
      ),
    );
    expect(r.ads[0]!.companions[0]).toMatchObject({
      imageUrl: 'https://n.example/c.gif',
      clickThrough: null,
    });
  });
});

describe('pickMediaFile', () => {
  const f = (mimeType: string, bitrateKbps: number) => ({
    url: `u:${mimeType}:${bitrateKbps}`,
    mimeType,
    width: 0,
    height: 0,
    bitrateKbps,
  });
  it.each([
    ['first playable', [f('audio/ogg', 64), f('audio/mpeg', 128)], ['audio/mpeg'], 'u:audio/mpeg:128'],
    [
      'closest bitrate',
      [f('audio/mpeg', 320), f('audio/mpeg', 96), f('audio/mpeg', 192)],
      ['audio/mpeg'],
      'u:audio/mpeg:96',
    ],
    ['nothing playable', [f('video/x-flv', 500)], ['audio/mpeg'], null],
    ['no files', [], ['audio/mpeg'], null],
  ] as const)('%s', (_name, files, playable, want) => {
    expect(pickMediaFile(files, (m) => (playable as readonly string[]).includes(m))?.url ?? null).toBe(want);
  });
});

/** The plugin in-process (Fastify inject): the advertiser flow end to end, and hostile input. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VASTParser } from '@dailymotion/vast-client';
import { parseMagnet, parseTorrent, toHex } from '@swarmcast/bittorrent';
import { nodeHasher } from '@swarmcast/bittorrent/node';
import { ManualClock } from '@swarmcast/platform';
import { scratchDir } from '@swarmcast/testkit';
import { DOMParser } from '@xmldom/xmldom';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adsPlugin,
  expandMacros,
  generateSigningKey,
  importPublicKeys,
  keyRing,
  verifyDecisionToken,
} from '../src/index.ts';
import { episode, episodeLookup, t0 } from './helpers.ts';

const fixtures = join(import.meta.dirname, 'fixtures');
const mp3 = readFileSync(join(fixtures, 'ad-15s.mp3'));
const mp4 = readFileSync(join(fixtures, 'ad-6s.mp4'));
const m4a = readFileSync(join(fixtures, 'ad-15s.m4a'));
const admin = { authorization: 'Bearer s3cret-admin' };
const parseVast = (xml: string) =>
  new VASTParser().parseVAST(new DOMParser().parseFromString(xml, 'text/xml') as unknown as Document);

let app: FastifyInstance;
let dir: { path: string; remove(): Promise<void> };
const clock = new ManualClock(t0 + 3_600_000);
const ring = keyRing(generateSigningKey('k1'));
let n = 0;

beforeAll(async () => {
  dir = await scratchDir('ads-http-');
  app = Fastify();
  await app.register(adsPlugin, {
    episodes: episodeLookup([episode(), episode({ id: 'ep-video', mediaKind: 'video' })]),
    keys: () => ring,
    clock,
    publicUrl: 'https://node.example/',
    mediaDir: dir.path,
    adminToken: 's3cret-admin',
    maxCreativeBytes: 100_000,
    newId: () => `id${++n}`,
  });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await dir?.remove();
});

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, payload: payload as object, headers });

describe('advertiser flow', () => {
  let advertiserId = '';
  let creativeId = '';
  let campaignId = '';

  it('creates an advertiser and uploads a creative that waits for approval', async () => {
    const a = await post('/ads/api/advertisers', { name: '<script>alert(1)</script> Corp' });
    expect(a.statusCode).toBe(201);
    advertiserId = a.json().id;
    const up = await app.inject({
      method: 'POST',
      url: `/ads/api/creatives?advertiser=${advertiserId}&name=Spring%20spot&clickThrough=https%3A%2F%2Fshop.example%2F&companionText=Hello%20%3Cb%3E`,
      headers: { 'content-type': 'audio/mpeg' },
      payload: mp3,
    });
    expect(up.statusCode, up.body).toBe(201);
    const cr = up.json();
    creativeId = cr.id;
    expect(cr).toMatchObject({
      mediaKind: 'audio',
      mimeType: 'audio/mpeg',
      approval: 'pending',
      bytes: mp3.length,
    });
    expect(cr.durationMs).toBeGreaterThan(14_500);
    expect(cr.durationMs).toBeLessThan(15_500);
  });

  it('publishes the creative as a torrent whose web seed is the media URL', async () => {
    const cr = (await app.inject({ url: '/ads/api/creatives' }))
      .json()
      .creatives.find((c: { id: string }) => c.id === creativeId);
    const mediaUrl = `https://node.example/ads/media/${creativeId}.mp3`;
    expect(cr.torrent.torrentUrl).toBe(`${mediaUrl}.torrent`);
    const file = await app.inject({ url: `/ads/media/${creativeId}.mp3.torrent` });
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-type']).toContain('application/x-bittorrent');
    const meta = await parseTorrent(file.rawPayload, nodeHasher);
    expect(meta.ok).toBe(true);
    if (!meta.ok) return;
    expect(meta.value.urlList).toEqual([mediaUrl]);
    expect(meta.value.files.map((f) => f.length)).toEqual([mp3.length]);
    expect(toHex(meta.value.infoHash.v1!)).toBe(cr.torrent.infoHash);
    const magnet = parseMagnet(cr.torrent.magnetUri);
    expect(magnet.ok && magnet.value.webSeeds).toEqual([mediaUrl]);
  });

  it('takes another encoding of the same ad as an alternate', async () => {
    const alt = await app.inject({
      method: 'POST',
      url: `/ads/api/creatives/${creativeId}/alternates`,
      headers: { 'content-type': 'audio/mp4' },
      payload: m4a,
    });
    expect(alt.statusCode, alt.body).toBe(201);
    expect(alt.json().alternates).toEqual([
      expect.objectContaining({
        url: `https://node.example/ads/media/${creativeId}-alt1.m4a`,
        mimeType: 'audio/mp4',
      }),
    ]);
    const served = await app.inject({ url: `/ads/media/${creativeId}-alt1.m4a` });
    expect(served.statusCode).toBe(200);
    expect(served.headers['content-type']).toBe('audio/mp4');
    expect(served.rawPayload.equals(m4a)).toBe(true);
    const wrong = await app.inject({
      method: 'POST',
      url: `/ads/api/creatives/${creativeId}/alternates`,
      headers: { 'content-type': 'video/mp4' },
      payload: mp4,
    });
    expect([wrong.statusCode, wrong.json().code]).toEqual([400, 'ADS_BAD_REQUEST']);
    expect((await app.inject({ url: `/ads/media/${creativeId}-alt2.m4a` })).statusCode).toBe(404);
  });

  it('only an admin approves', async () => {
    const no = await post(`/ads/api/creatives/${creativeId}/approval`, { state: 'approved' });
    expect(no.statusCode).toBe(403);
    expect(no.json().code).toBe('ADS_FORBIDDEN');
    const wrong = await post(
      `/ads/api/creatives/${creativeId}/approval`,
      { state: 'approved' },
      {
        authorization: 'Bearer s3cret-admiN',
      },
    );
    expect(wrong.statusCode).toBe(403);
    const ok = await post(`/ads/api/creatives/${creativeId}/approval`, { state: 'approved' }, admin);
    expect(ok.statusCode).toBe(200);
    expect(ok.json().approval).toBe('approved');
  });

  it('creates a campaign and a line item, and serves it in VMAP -> VAST', async () => {
    const c = await post('/ads/api/campaigns', {
      advertiserId,
      name: 'Spring <sale>',
      startsAt: t0,
      endsAt: t0 + 7 * 86_400_000,
      currency: 'EUR',
      totalBudgetMicros: 500_000_000,
      dailyBudgetMicros: 100_000_000,
    });
    expect(c.statusCode, c.body).toBe(201);
    campaignId = c.json().id;
    const li = await post('/ads/api/line-items', {
      campaignId,
      name: 'Germany mid-rolls',
      priority: 'standard',
      goal: { kind: 'impressions', impressions: 70_000 },
      cpmMicros: 25_000_000,
      targeting: { countries: ['DE'], positions: ['mid'] },
      caps: [{ max: 1, periodMs: 3_600_000 }],
      creativeIds: [creativeId],
    });
    expect(li.statusCode, li.body).toBe(201);
    expect(li.json().pacing).toBe('even');

    const vmap = await app.inject({ url: '/ads/vmap?episode=ep-1&lid=listener-0001' });
    expect(vmap.statusCode).toBe(200);
    expect(vmap.headers['content-type']).toContain('application/xml');
    const tag = /<vmap:AdTagURI templateType="vast4">([^<]+)</.exec(
      vmap.body.split('breakId="mid-1"')[1]!,
    )![1]!;
    const vastUrl = new URL(tag.replaceAll('&amp;', '&'));
    expect(vastUrl.origin).toBe('https://node.example');

    const vast = await app.inject({
      url: vastUrl.pathname + vastUrl.search,
      headers: { 'x-swarmcast-country': 'de', 'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)' },
    });
    expect(vast.statusCode).toBe(200);
    const parsed = await parseVast(vast.body);
    expect(parsed.ads).toHaveLength(1);
    const linear = parsed.ads[0].creatives.find((x: { type: string }) => x.type === 'linear');
    const media = linear.mediaFiles[0];
    expect(media.fileURL).toBe(`https://node.example/ads/media/${creativeId}.mp3`);
    expect(linear.mediaFiles.map((m: { mimeType: string }) => m.mimeType)).toEqual([
      'audio/mpeg',
      'audio/mp4',
    ]);
    const ext = parsed.ads[0].extensions.find(
      (e: { attributes: { type: string } }) => e.attributes.type === 'swarmcast-torrent',
    );
    expect(ext.children[0].attributes.url).toBe(`https://node.example/ads/media/${creativeId}.mp3.torrent`);
    const token = new URL(expandMacros(parsed.ads[0].impressionURLTemplates[0].url, {})).searchParams.get(
      't',
    )!;
    const keys = await app.inject({ url: '/ads/keys' });
    const v = verifyDecisionToken(token, importPublicKeys(keys.json().keys), clock.now());
    expect(v.ok && v.claims).toMatchObject({
      listenerId: 'listener-0001',
      breakId: 'mid-1',
      cpmMicros: 25_000_000,
    });

    // Same listener again within the hour: capped. Another country: not targeted.
    const again = await app.inject({
      url: vastUrl.pathname + vastUrl.search,
      headers: { 'x-swarmcast-country': 'DE' },
    });
    expect((await parseVast(again.body)).ads).toHaveLength(0);
    const fr = await app.inject({
      url: '/ads/vast?episode=ep-1&break=mid-1&lid=listener-0002',
      headers: { 'x-swarmcast-country': 'FR' },
    });
    expect((await parseVast(fr.body)).ads).toHaveLength(0);
    // GPC withholds the listener id, so a capped line item cannot serve.
    const gpc = await app.inject({
      url: '/ads/vast?episode=ep-1&break=mid-1&lid=listener-0003',
      headers: { 'x-swarmcast-country': 'DE', 'sec-gpc': '1' },
    });
    expect((await parseVast(gpc.body)).ads).toHaveLength(0);
  });

  it('serves the media file with ranges', async () => {
    const whole = await app.inject({ url: `/ads/media/${creativeId}.mp3` });
    expect(whole.statusCode).toBe(200);
    expect(whole.rawPayload.equals(mp3)).toBe(true);
    const part = await app.inject({ url: `/ads/media/${creativeId}.mp3`, headers: { range: 'bytes=10-19' } });
    expect(part.statusCode).toBe(206);
    expect(part.rawPayload.equals(mp3.subarray(10, 20))).toBe(true);
    expect(
      (await app.inject({ url: `/ads/media/${creativeId}.mp3`, headers: { range: 'bytes=999999-' } }))
        .statusCode,
    ).toBe(416);
    expect((await app.inject({ url: '/ads/media/..%2F..%2Fetc%2Fpasswd' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/ads/media/nope.mp3' })).statusCode).toBe(404);
  });

  it('reports delivery per day against plan, and escapes the dashboard', async () => {
    const r = await app.inject({ url: `/ads/api/campaigns/${campaignId}/report` });
    const report = r.json();
    expect(report.spendMicros).toBe(25_000); // one impression at 25 EUR CPM
    const li = report.lineItems[0];
    expect(li.impressions).toBe(1);
    expect(li.days[0]).toMatchObject({ date: '2026-11-23', delivered: 1, planned: 10_000 });
    const dash = await app.inject({ url: '/ads/dashboard' });
    expect(dash.statusCode).toBe(200);
    expect(dash.body).not.toContain('<script>alert(1)</script>');
    expect(dash.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt; Corp');
    const page = await app.inject({ url: `/ads/dashboard/campaigns/${campaignId}` });
    expect(page.body).toContain('Spring &lt;sale&gt;');
    expect(page.body).toContain('2026-11-23');
    const creatives = await app.inject({ url: '/ads/dashboard/creatives' });
    expect(creatives.body).toContain('Spring spot');
  });

  it('takes a video creative with its dimensions', async () => {
    const up = await app.inject({
      method: 'POST',
      url: `/ads/api/creatives?advertiser=${advertiserId}&name=clip&width=64&height=64`,
      headers: { 'content-type': 'video/mp4' },
      payload: mp4,
    });
    expect(up.statusCode, up.body).toBe(201);
    expect(up.json()).toMatchObject({ mediaKind: 'video', width: 64, height: 64 });
  });
});

describe('hostile input', () => {
  const vastCases: Array<[string, string, number]> = [
    ['no params', '/ads/vast', 400],
    ['no break', '/ads/vast?episode=ep-1', 400],
    ['bad characters', '/ads/vast?episode=ep-1%3Cx%3E&break=pre', 400],
    ['huge id', `/ads/vast?episode=${'a'.repeat(500)}&break=pre`, 400],
    ['array param', '/ads/vast?episode=ep-1&episode=ep-2&break=pre', 400],
    ['unknown episode', '/ads/vast?episode=nope&break=pre', 200],
    ['unknown break', '/ads/vast?episode=ep-1&break=mid-9', 200],
    ['junk listener and device', '/ads/vast?episode=ep-1&break=pre&lid=%00%01&device=toaster', 200],
  ];
  it.each(vastCases)('VAST with %s: a valid empty VAST', async (_n, url, status) => {
    const r = await app.inject({ url });
    expect(r.statusCode).toBe(status);
    expect(r.headers['content-type']).toContain('application/xml');
    const parsed = await parseVast(r.body);
    expect(parsed.ads).toEqual([]);
  });

  const vmapCases: Array<[string, string, number]> = [
    ['no episode', '/ads/vmap', 400],
    ['bad offsets form', '/ads/vmap?episode=ep-1&offsets=weird', 400],
    ['unknown episode', '/ads/vmap?episode=nope', 404],
  ];
  it.each(vmapCases)('VMAP with %s', async (_n, url, status) => {
    const r = await app.inject({ url });
    expect(r.statusCode).toBe(status);
    expect(r.body).toContain('<vmap:VMAP');
    expect(r.body).not.toContain('AdBreak');
  });

  it('refuses oversized, non-media and mislabelled creatives with coded errors', async () => {
    const a = (await post('/ads/api/advertisers', { name: 'x' })).json().id;
    const up = (type: string, payload: Buffer, extra = '') =>
      app.inject({
        method: 'POST',
        url: `/ads/api/creatives?advertiser=${a}&name=x${extra}`,
        headers: { 'content-type': type },
        payload,
      });
    const big = await up('audio/mpeg', Buffer.concat([mp3, Buffer.alloc(100_000)]));
    expect([big.statusCode, big.json().code]).toEqual([413, 'ADS_CREATIVE_TOO_LARGE']);
    const text = await up('text/plain', Buffer.from('hello'));
    expect([text.statusCode, text.json().code]).toEqual([415, 'ADS_CREATIVE_NOT_MEDIA']);
    const html = await up('audio/mpeg', Buffer.from('<html>not audio</html>'));
    expect([html.statusCode, html.json().code]).toEqual([415, 'ADS_CREATIVE_NOT_MEDIA']);
    const lie = await up('audio/mpeg', mp4);
    expect([lie.statusCode, lie.json().code]).toEqual([415, 'ADS_CREATIVE_NOT_MEDIA']);
    const truncated = await up('audio/mpeg', mp3.subarray(0, 3));
    expect(truncated.statusCode).toBe(415);
    const noDims = await up('video/mp4', mp4);
    expect([noDims.statusCode, noDims.json().code]).toEqual([400, 'ADS_BAD_REQUEST']);
    const badClick = await up('audio/mpeg', mp3, '&clickThrough=javascript%3Aalert(1)');
    expect(badClick.statusCode).toBe(400);
  });

  const badBodies: Array<[string, string, unknown, number]> = [
    ['campaign missing fields', '/ads/api/campaigns', { name: 'x' }, 400],
    [
      'campaign unknown advertiser',
      '/ads/api/campaigns',
      { advertiserId: 'zz', name: 'x', startsAt: 1, endsAt: 2, currency: 'EUR', totalBudgetMicros: 1 },
      404,
    ],
    [
      'campaign negative budget',
      '/ads/api/campaigns',
      { advertiserId: 'zz', name: 'x', startsAt: 1, endsAt: 2, currency: 'EUR', totalBudgetMicros: -1 },
      400,
    ],
    [
      'campaign unknown field',
      '/ads/api/campaigns',
      {
        advertiserId: 'zz',
        name: 'x',
        startsAt: 1,
        endsAt: 2,
        currency: 'EUR',
        totalBudgetMicros: 1,
        admin: true,
      },
      400,
    ],
    [
      'line item bad priority',
      '/ads/api/line-items',
      {
        campaignId: 'c',
        name: 'x',
        priority: 'vip',
        goal: { kind: 'impressions', impressions: 1 },
        cpmMicros: 1,
      },
      400,
    ],
    [
      'line item bad goal',
      '/ads/api/line-items',
      { campaignId: 'c', name: 'x', priority: 'house', goal: { kind: 'clicks', n: 1 }, cpmMicros: 1 },
      400,
    ],
    [
      'line item unknown campaign',
      '/ads/api/line-items',
      {
        campaignId: 'c',
        name: 'x',
        priority: 'house',
        goal: { kind: 'impressions', impressions: 1 },
        cpmMicros: 1,
      },
      404,
    ],
    ['not json', '/ads/api/advertisers', 'name=x', 400],
  ];
  it.each(badBodies)('%s', async (_n, url, body, status) => {
    const r =
      typeof body === 'string'
        ? await app.inject({
            method: 'POST',
            url,
            payload: body,
            headers: { 'content-type': 'application/json' },
          })
        : await post(url, body);
    expect(r.statusCode, r.body).toBe(status);
    expect(r.json().code).toMatch(/^ADS_/);
  });
});

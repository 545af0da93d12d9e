/** The plugin in-process (Fastify inject): the advertiser flow end to end, and hostile input. */
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
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
  PreparedAds,
  verifyDecisionToken,
} from '../src/index.ts';
import { type TestAccounts, testAccounts, testCookie } from './accounts.ts';
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
let accounts: TestAccounts;
/** The advertiser account that runs the advertiser flow (its API token). */
let adv: Record<string, string> = {};
let publicUrl = 'https://node.example/';
/** The stitcher's prepared ads, with a codec that cannot match an 8 kHz episode. */
let prepared: PreparedAds<{ rate: number }, unknown>;

beforeAll(async () => {
  dir = await scratchDir('ads-http-');
  accounts = await testAccounts(clock);
  adv = { authorization: `Bearer ${(await accounts.account('advertiser')).token}` };
  app = Fastify({ trustProxy: ['127.0.0.1'] });
  prepared = new PreparedAds<{ rate: number }, unknown>({
    dir: join(dir.path, 'prepared'),
    profileKey: (p) => `mpeg2-l3-${p.rate}-1ch`,
    sourceOf: () => join(fixtures, 'ad-15s.mp3'),
    prepare: async (_input, p) => {
      throw new Error(`cannot match the encoding: ${p.rate} Hz is below what the encoder takes`);
    },
  });
  await app.register(adsPlugin, {
    stitchFailures: () => prepared.failures(),
    episodes: episodeLookup([episode(), episode({ id: 'ep-video', mediaKind: 'video' })]),
    keys: () => ring,
    clock,
    publicUrl: () => publicUrl,
    mediaDir: dir.path,
    adminToken: 's3cret-admin',
    auth: accounts.auth,
    maxCreativeBytes: 100_000,
    newId: () => `id${++n}`,
  });
  await app.ready();
});
afterAll(async () => {
  await prepared?.close();
  await app?.close();
  await accounts?.close();
  await dir?.remove();
});

const post = (url: string, payload: unknown, headers: Record<string, string> = adv) =>
  app.inject({ method: 'POST', url, payload: payload as object, headers });
const get = (url: string, headers: Record<string, string> = adv) => app.inject({ url, headers });

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
      headers: { ...adv, 'content-type': 'audio/mpeg' },
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
    const cr = (await get('/ads/api/creatives'))
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
      headers: { ...adv, 'content-type': 'audio/mp4' },
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
      headers: { ...adv, 'content-type': 'video/mp4' },
      payload: mp4,
    });
    expect([wrong.statusCode, wrong.json().code]).toEqual([400, 'ADS_BAD_REQUEST']);
    expect((await app.inject({ url: `/ads/media/${creativeId}-alt2.m4a` })).statusCode).toBe(404);
  });

  it('only an admin approves', async () => {
    const no = await post(`/ads/api/creatives/${creativeId}/approval`, { state: 'approved' });
    // An advertiser account may not approve its own creative.
    expect(no.statusCode).toBe(403);
    expect(no.json().code).toBe('ADS_FORBIDDEN');
    // A near-miss of the admin token is no credential at all.
    const wrong = await post(
      `/ads/api/creatives/${creativeId}/approval`,
      { state: 'approved' },
      {
        authorization: 'Bearer s3cret-admiN',
      },
    );
    expect([wrong.statusCode, wrong.json().code]).toEqual([401, 'ADS_UNAUTHENTICATED']);
    // A rejection carries its reason back to the advertiser; a later approval replaces it.
    const rejected = await post(
      `/ads/api/creatives/${creativeId}/approval`,
      { state: 'rejected', reason: '  The click-through page does not load. ' },
      admin,
    );
    expect(rejected.statusCode).toBe(200);
    const mine = (await get('/ads/api/creatives')).json() as {
      creatives: Array<{ id: string; approval: string; approvalReason?: string }>;
    };
    expect(mine.creatives.find((c) => c.id === creativeId)).toMatchObject({
      approval: 'rejected',
      approvalReason: 'The click-through page does not load.',
    });
    const long = await post(
      `/ads/api/creatives/${creativeId}/approval`,
      { state: 'rejected', reason: 'x'.repeat(501) },
      admin,
    );
    expect([long.statusCode, long.json().code]).toEqual([400, 'ADS_BAD_REQUEST']);
    const ok = await post(`/ads/api/creatives/${creativeId}/approval`, { state: 'approved' }, admin);
    expect(ok.statusCode).toBe(200);
    expect(ok.json().approval).toBe('approved');
    expect(ok.json().approvalReason).toBeUndefined();
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
      headers: {
        'x-forwarded-for': '198.51.100.7',
        'x-swarmcast-country': 'de',
        'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)',
      },
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
      headers: { 'x-forwarded-for': '198.51.100.7', 'x-swarmcast-country': 'DE' },
    });
    expect((await parseVast(again.body)).ads).toHaveLength(0);
    const fr = await app.inject({
      url: '/ads/vast?episode=ep-1&break=mid-1&lid=listener-0002',
      headers: { 'x-forwarded-for': '198.51.100.7', 'x-swarmcast-country': 'FR' },
    });
    expect((await parseVast(fr.body)).ads).toHaveLength(0);
    // GPC withholds the listener id, so a capped line item cannot serve.
    const gpc = await app.inject({
      url: '/ads/vast?episode=ep-1&break=mid-1&lid=listener-0003',
      headers: { 'x-forwarded-for': '198.51.100.7', 'x-swarmcast-country': 'DE', 'sec-gpc': '1' },
    });
    expect((await parseVast(gpc.body)).ads).toHaveLength(0);
    // The country header is believed only from the trusted proxy (as measurement reads it): a
    // listener talking to us directly cannot buy into a line item targeted at Germany.
    const direct = await app.inject({
      url: '/ads/vast?episode=ep-1&break=mid-1&lid=listener-0004',
      headers: { 'x-swarmcast-country': 'DE' },
      remoteAddress: '203.0.113.50',
    });
    expect((await parseVast(direct.body)).ads).toHaveLength(0);
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
    const r = await get(`/ads/api/campaigns/${campaignId}/report`);
    const report = r.json();
    // One decision at 25 EUR CPM whose ad nobody played: a decision holding its price, not an
    // impression and not spend (those come from measurement, measured-feedback.test.ts).
    expect(report.spendMicros).toBe(0);
    expect(report.reservedMicros).toBe(25_000);
    const li = report.lineItems[0];
    expect(li.decisions).toBe(1);
    expect(li.impressions).toBe(0);
    expect(li.days[0]).toMatchObject({
      date: '2026-11-23',
      decisions: 1,
      impressions: 0,
      delivered: 0,
      planned: 10_000,
    });
    const dash = await get('/ads/dashboard');
    expect(dash.statusCode).toBe(200);
    expect(dash.body).not.toContain('<script>alert(1)</script>');
    expect(dash.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt; Corp');
    const page = await get(`/ads/dashboard/campaigns/${campaignId}`);
    expect(page.body).toContain('Spring &lt;sale&gt;');
    expect(page.body).toContain('2026-11-23');
    const creatives = await get('/ads/dashboard/creatives');
    expect(creatives.body).toContain('Spring spot');
    expect(creatives.body).not.toContain('Not inserted into podcast-app downloads');
    // A creative the stitcher cannot prepare for an episode's encoding: the advertiser reads why.
    expect(prepared.ready(creativeId, { rate: 8000 })).toBeNull();
    await prepared.idle();
    const after = await get('/ads/dashboard/creatives');
    expect(after.body).toContain(
      'Not inserted into podcast-app downloads (mpeg2-l3-8000-1ch): cannot match the encoding: 8000 Hz is below what the encoder takes',
    );
  });

  it('makes the ad skippable after the offset the advertiser sets (Linear@skipoffset)', async () => {
    const raw = async (lid: string) =>
      (
        await app.inject({
          url: `/ads/vast?episode=ep-1&break=mid-1&lid=${lid}`,
          headers: { 'x-forwarded-for': '198.51.100.7', 'x-swarmcast-country': 'DE' },
        })
      ).body;
    const vastOf = async (lid: string) => parseVast(await raw(lid));
    const linearOf = (v: Awaited<ReturnType<typeof parseVast>>) =>
      v.ads[0].creatives.find((x: { type: string }) => x.type === 'linear');
    const before = await raw('listener-0200');
    expect(before).toContain('<Linear>');
    expect(before).not.toContain('skipoffset');
    const set = await post(`/ads/api/creatives/${creativeId}/settings`, { skipOffsetMs: 5_000 });
    expect([set.statusCode, set.json().skipOffsetMs, set.json().approval]).toEqual([200, 5_000, 'approved']);
    const skippable = await vastOf('listener-0201');
    expect(linearOf(skippable).skipDelay).toBe(5);
    const tooLate = await post(`/ads/api/creatives/${creativeId}/settings`, { skipOffsetMs: 16_000 });
    expect(tooLate.statusCode).toBe(400);
    const off = await post(`/ads/api/creatives/${creativeId}/settings`, { skipOffsetMs: null });
    expect(off.json()).not.toHaveProperty('skipOffsetMs');
    const after = await raw('listener-0202');
    expect(after).toContain('<Linear>');
    expect(after).not.toContain('skipoffset');
  });

  it('takes video creatives with the picture size read from the file (MP4 and WebM)', async () => {
    const up = await app.inject({
      method: 'POST',
      url: `/ads/api/creatives?advertiser=${advertiserId}&name=clip`,
      headers: { ...adv, 'content-type': 'video/mp4' },
      payload: mp4,
    });
    expect(up.statusCode, up.body).toBe(201);
    expect(up.json()).toMatchObject({ mediaKind: 'video', width: 64, height: 64 });
    const webm = await app.inject({
      method: 'POST',
      url: `/ads/api/creatives?advertiser=${advertiserId}&name=clip-webm&width=999&height=999`,
      headers: { ...adv, 'content-type': 'video/webm' },
      payload: readFileSync(join(fixtures, 'ad-2s.webm')),
    });
    expect(webm.statusCode, webm.body).toBe(201);
    // The file's own size wins over the query's.
    expect(webm.json()).toMatchObject({ mediaKind: 'video', mimeType: 'video/webm', width: 64, height: 48 });
  });

  it('builds creative URLs with the public URL of the moment it serves them', async () => {
    publicUrl = 'https://moved.example';
    try {
      const vast = await app.inject({
        url: '/ads/vast?episode=ep-1&break=mid-1&lid=listener-0100',
        headers: { 'x-forwarded-for': '198.51.100.7', 'x-swarmcast-country': 'DE' },
      });
      const parsed = await parseVast(vast.body);
      const linear = parsed.ads[0].creatives.find((x: { type: string }) => x.type === 'linear');
      expect(linear.mediaFiles[0].fileURL).toBe(`https://moved.example/ads/media/${creativeId}.mp3`);
      expect(vast.body).not.toContain('node.example');
      const listed = (await get('/ads/api/creatives'))
        .json()
        .creatives.find((c: { id: string }) => c.id === creativeId);
      expect(listed.torrent.torrentUrl).toBe(`https://moved.example/ads/media/${creativeId}.mp3.torrent`);
      const file = await app.inject({ url: `/ads/media/${creativeId}.mp3.torrent` });
      const meta = await parseTorrent(file.rawPayload, nodeHasher);
      expect(meta.ok && meta.value.urlList).toEqual([`https://moved.example/ads/media/${creativeId}.mp3`]);
      expect(meta.ok && toHex(meta.value.infoHash.v1!)).toBe(listed.torrent.infoHash);
    } finally {
      publicUrl = 'https://node.example/';
    }
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
        headers: { ...adv, 'content-type': type },
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
    // An MP4 whose video track header was cut away has no picture size: the query must say.
    const noDims = await up('video/mp4', stripVideoTrackHeader(mp4));
    expect([noDims.statusCode, noDims.json().code]).toEqual([400, 'ADS_BAD_REQUEST']);
    // Refused creatives leave no media file behind (issue 14: a bad skipOffset did).
    const filesBefore = (await readdir(dir.path)).sort();
    for (const bad of ['16', '-1', 'abc', '1e3', '2.5555']) {
      const r = await up('audio/mpeg', mp3, `&skipOffset=${bad}`);
      expect([r.statusCode, r.json().code], bad).toEqual([400, 'ADS_BAD_REQUEST']);
    }
    expect((await readdir(dir.path)).sort()).toEqual(filesBefore);
    // Sniffed while streaming (issue 14: uploads were buffered whole): a body whose first
    // bytes are not audio is refused before it ends; this one never ends.
    const endless = new PassThrough();
    endless.write(Buffer.alloc(70_000, 0x41));
    const early = await app.inject({
      method: 'POST',
      url: `/ads/api/creatives?advertiser=${a}&name=endless`,
      headers: { ...adv, 'content-type': 'audio/mpeg' },
      payload: endless,
    });
    endless.destroy();
    expect([early.statusCode, early.json().code]).toEqual([415, 'ADS_CREATIVE_NOT_MEDIA']);
    expect((await readdir(dir.path)).sort()).toEqual(filesBefore);
    const skippable = await up('audio/mpeg', mp3, '&skipOffset=5.5');
    expect([skippable.statusCode, skippable.json().skipOffsetMs]).toEqual([201, 5_500]);
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
            headers: { ...adv, 'content-type': 'application/json' },
          })
        : await post(url, body);
    expect(r.statusCode, r.body).toBe(status);
    expect(r.json().code).toMatch(/^ADS_/);
  });
});

/** The MP4 with its video handler renamed (no track says it is video): no picture size. */
function stripVideoTrackHeader(file: Buffer): Buffer {
  const out = Buffer.from(file);
  const at = out.indexOf('vide');
  if (at < 0) throw new Error('fixture has no video handler');
  out.write('xxxx', at, 'latin1');
  return out;
}

describe('advertiser access', () => {
  /** Everything the store holds, to show a refused request wrote nothing. */
  const snapshot = async () =>
    JSON.stringify(
      await get('/ads/api/campaigns', admin).then(async (c) => ({
        campaigns: c.json(),
        lineItems: (await get('/ads/api/line-items', admin)).json(),
        creatives: (await get('/ads/api/creatives', admin)).json(),
        advertisers: (await get('/ads/api/advertisers', admin)).json(),
      })),
    );
  let mine: {
    adv: Record<string, string>;
    advertiserId: string;
    campaignId: string;
    lineItemId: string;
    creativeId: string;
  };

  beforeAll(async () => {
    const a = { authorization: `Bearer ${(await accounts.account('advertiser')).token}` };
    const advertiserId = (await post('/ads/api/advertisers', { name: 'Owner A' }, a)).json().id;
    const creativeId = (
      await app.inject({
        method: 'POST',
        url: `/ads/api/creatives?advertiser=${advertiserId}&name=A%20spot`,
        headers: { ...a, 'content-type': 'audio/mpeg' },
        payload: mp3,
      })
    ).json().id;
    const campaignId = (
      await post(
        '/ads/api/campaigns',
        {
          advertiserId,
          name: 'A',
          startsAt: t0,
          endsAt: t0 + 86_400_000,
          currency: 'EUR',
          totalBudgetMicros: 1_000_000,
        },
        a,
      )
    ).json().id;
    const lineItemId = (
      await post(
        '/ads/api/line-items',
        {
          campaignId,
          name: 'A line',
          priority: 'standard',
          goal: { kind: 'impressions', impressions: 10 },
          cpmMicros: 1_000_000,
          creativeIds: [creativeId],
        },
        a,
      )
    ).json().id;
    mine = { adv: a, advertiserId, campaignId, lineItemId, creativeId };
    expect([advertiserId, creativeId, campaignId, lineItemId].every(Boolean)).toBe(true);
  });

  it('without credentials every advertiser route is 401 and writes nothing', async () => {
    const before = await snapshot();
    const calls = [
      app.inject({ method: 'POST', url: '/ads/api/advertisers', payload: { name: 'x' } }),
      app.inject({ method: 'POST', url: '/ads/api/campaigns', payload: { advertiserId: mine.advertiserId } }),
      app.inject({ method: 'POST', url: '/ads/api/line-items', payload: { campaignId: mine.campaignId } }),
      app.inject({
        method: 'POST',
        url: `/ads/api/line-items/${mine.lineItemId}/state`,
        payload: { paused: true },
      }),
      app.inject({
        method: 'POST',
        url: `/ads/api/creatives?advertiser=${mine.advertiserId}&name=x`,
        headers: { 'content-type': 'audio/mpeg' },
        payload: mp3,
      }),
      app.inject({
        method: 'POST',
        url: `/ads/api/creatives/${mine.creativeId}/alternates`,
        headers: { 'content-type': 'audio/mp4' },
        payload: m4a,
      }),
      app.inject({
        method: 'POST',
        url: `/ads/api/creatives/${mine.creativeId}/approval`,
        payload: { state: 'approved' },
      }),
      app.inject({
        method: 'POST',
        url: `/ads/api/creatives/${mine.creativeId}/settings`,
        payload: { skipOffsetMs: 1_000 },
      }),
      app.inject({ url: '/ads/api/advertisers' }),
      app.inject({ url: '/ads/api/campaigns' }),
      app.inject({ url: '/ads/api/creatives' }),
      app.inject({ url: `/ads/api/campaigns/${mine.campaignId}/report` }),
      app.inject({ url: '/ads/api/campaigns', headers: { authorization: 'Bearer sc_not-a-real-token' } }),
    ];
    for (const r of await Promise.all(calls)) {
      expect([r.statusCode, r.json().code], r.body).toEqual([401, 'ADS_UNAUTHENTICATED']);
    }
    const page = await app.inject({ url: '/ads/dashboard' });
    expect(page.statusCode).toBe(401);
    expect(page.body).toContain('href="/login"');
    expect((await app.inject({ url: `/ads/dashboard/campaigns/${mine.campaignId}` })).statusCode).toBe(401);
    expect(await snapshot()).toBe(before);
  });

  it("another advertiser's ids are 404 and nothing is written", async () => {
    const other = { authorization: `Bearer ${(await accounts.account('advertiser')).token}` };
    const otherAdvertiser = (await post('/ads/api/advertisers', { name: 'Owner B' }, other)).json().id;
    const before = await snapshot();
    const refused = [
      await post(
        '/ads/api/campaigns',
        {
          advertiserId: mine.advertiserId,
          name: 'steal',
          startsAt: t0,
          endsAt: t0 + 1000,
          currency: 'EUR',
          totalBudgetMicros: 1,
        },
        other,
      ),
      await post(
        '/ads/api/line-items',
        {
          campaignId: mine.campaignId,
          name: 'steal',
          priority: 'sponsorship',
          goal: { kind: 'impressions', impressions: 1 },
          cpmMicros: 1,
        },
        other,
      ),
      await post(`/ads/api/line-items/${mine.lineItemId}/state`, { paused: true }, other),
      await app.inject({
        method: 'POST',
        url: `/ads/api/creatives?advertiser=${mine.advertiserId}&name=steal`,
        headers: { ...other, 'content-type': 'audio/mpeg' },
        payload: mp3,
      }),
      await app.inject({
        method: 'POST',
        url: `/ads/api/creatives/${mine.creativeId}/alternates`,
        headers: { ...other, 'content-type': 'audio/mp4' },
        payload: m4a,
      }),
      await get(`/ads/api/campaigns/${mine.campaignId}/report`, other),
      await post(`/ads/api/creatives/${mine.creativeId}/settings`, { skipOffsetMs: 1_000 }, other),
    ];
    for (const r of refused) expect([r.statusCode, r.json().code], r.body).toEqual([404, 'ADS_NOT_FOUND']);
    // B's own campaign may not use A's creative either.
    const bCampaign = (
      await post(
        '/ads/api/campaigns',
        {
          advertiserId: otherAdvertiser,
          name: 'B',
          startsAt: t0,
          endsAt: t0 + 1000,
          currency: 'EUR',
          totalBudgetMicros: 1,
        },
        other,
      )
    ).json().id;
    const afterCampaign = await snapshot();
    const borrow = await post(
      '/ads/api/line-items',
      {
        campaignId: bCampaign,
        name: 'borrow',
        priority: 'standard',
        goal: { kind: 'impressions', impressions: 1 },
        cpmMicros: 1,
        creativeIds: [mine.creativeId],
      },
      other,
    );
    expect(borrow.statusCode).toBe(404);
    expect(await snapshot()).toBe(afterCampaign);
    expect(before).not.toBe(afterCampaign); // B's own campaign was written
    // Lists and pages show B only its own.
    const lists = [
      (await get('/ads/api/advertisers', other)).json().advertisers,
      (await get('/ads/api/campaigns', other)).json().campaigns,
      (await get('/ads/api/creatives', other)).json().creatives,
      (await get('/ads/api/line-items', other)).json().lineItems,
    ];
    expect(lists[0].map((a: { id: string }) => a.id)).toEqual([otherAdvertiser]);
    expect(lists[1].map((c: { id: string }) => c.id)).toEqual([bCampaign]);
    expect(lists[2]).toEqual([]);
    expect(lists[3]).toEqual([]);
    const dash = await get('/ads/dashboard', other);
    expect(dash.statusCode).toBe(200);
    expect(dash.body).not.toContain('Owner A');
    expect((await get(`/ads/dashboard/campaigns/${mine.campaignId}`, other)).statusCode).toBe(404);
    expect((await get('/ads/dashboard/creatives', other)).body).not.toContain('A spot');
    // A still sees its own, and the admin sees both.
    expect(
      (await get('/ads/api/campaigns', mine.adv)).json().campaigns.map((c: { id: string }) => c.id),
    ).toEqual([mine.campaignId]);
    const all = (await get('/ads/api/campaigns', admin)).json().campaigns.map((c: { id: string }) => c.id);
    expect(all).toEqual(expect.arrayContaining([mine.campaignId, bCampaign]));
  });

  it('creator accounts are refused; admin accounts approve; advertisers cannot', async () => {
    const creator = { authorization: `Bearer ${(await accounts.account('creator')).token}` };
    const r = await post('/ads/api/advertisers', { name: 'c' }, creator);
    expect([r.statusCode, r.json().code]).toEqual([403, 'ADS_NOT_ADVERTISER']);
    expect((await get('/ads/dashboard', creator)).statusCode).toBe(403);
    const self = await post(
      `/ads/api/creatives/${mine.creativeId}/approval`,
      { state: 'approved' },
      mine.adv,
    );
    expect([self.statusCode, self.json().code]).toEqual([403, 'ADS_FORBIDDEN']);
    const adminAccount = { authorization: `Bearer ${(await accounts.account('admin')).token}` };
    const ok = await post(
      `/ads/api/creatives/${mine.creativeId}/approval`,
      { state: 'approved' },
      adminAccount,
    );
    expect([ok.statusCode, ok.json().approval]).toEqual([200, 'approved']);
  });

  it('a web session works for pages and same-site changes, not for cross-site ones', async () => {
    const account = await accounts.account('advertiser');
    const cookie = { cookie: `${testCookie}=${account.session}`, host: 'node.example' };
    expect((await get('/ads/dashboard', cookie)).statusCode).toBe(200);
    const before = await snapshot();
    const forged = await post(
      '/ads/api/advertisers',
      { name: 'csrf' },
      { ...cookie, origin: 'https://evil.example' },
    );
    expect([forged.statusCode, forged.json().code]).toEqual([403, 'ADS_CROSS_ORIGIN']);
    expect(await snapshot()).toBe(before);
    const own = await post(
      '/ads/api/advertisers',
      { name: 'from our page' },
      { ...cookie, origin: 'https://node.example' },
    );
    expect(own.statusCode).toBe(201);
  });
});

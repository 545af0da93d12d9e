/**
 * Server-side ad delivery (IAB v2.3 section 6.3, "Ad Delivered"), one test per rule of
 * rules/ad-delivery.ts. The stitched file of plan P: a 100-byte new header, the episode's
 * first 1,000,000 bytes, a 50,000-byte mid-roll ad, the rest of the episode, a
 * 40,000-byte post-roll. ep1: 6,000,000 bytes, 100,000-byte header, 10 minutes, so its
 * download threshold is 690,000 bytes of the *episode file*.
 */
import { describe, expect, it } from 'vitest';
import { countAdDeliveries, type PlanForDelivery, toContentFact } from '../src/rules/ad-delivery.ts';
import { dl, ep1, key, range } from './support/facts.ts';

const t0 = Date.UTC(2026, 10, 3, 9, 0);
const mid = { decisionId: 'P-mid-1', start: 1_000_100, end: 1_050_100 };
const post = { decisionId: 'P-post-1', start: 6_050_100, end: 6_090_100 };
const stitchedSize = 6_090_100;
const plan: PlanForDelivery = {
  planId: 'P',
  episodeId: 'ep1',
  planKey: 'k1',
  size: stitchedSize,
  content: [
    { start: 100, end: 1_000_100, srcStart: 0 },
    { start: 1_050_100, end: 6_050_100, srcStart: 1_000_000 },
  ],
  ads: [mid, post],
};
const plans = new Map([['P', plan]]);
const s = (start: number, end: number, time = t0, over = {}) =>
  range(start, end, time, { planId: 'P', fileSize: stitchedSize, ...over });
const count = (facts: ReturnType<typeof dl>[]) =>
  countAdDeliveries({ downloads: facts, episodes: [ep1], plans });

describe('ad delivered (IAB 6.3): one test per rule', () => {
  it('a whole-file GET of the stitched enclosure delivers every ad, once', () => {
    const r = count([s(0, stitchedSize - 1)]);
    expect(r.delivered.map((d) => d.deliveryId)).toEqual(['P-mid-1', 'P-post-1']);
  });

  it('rule 1: requests without a known plan deliver nothing (and plain files never do)', () => {
    const r = count([s(0, stitchedSize - 1, t0, { planId: 'unknown' }), dl({ time: t0 })]);
    expect(r.delivered).toEqual([]);
    expect(r.notDelivered['unknown-plan']).toBe(1);
  });

  it.each([
    ['bot', { client: { app: 'curl', device: 'bot', os: 'unknown', bot: true } }],
    ['datacenter', { datacenter: true }],
    ['head', { method: 'HEAD' as const, bytesSent: 0 }],
    ['not-modified', { status: 304, bytesSent: 0 }],
    ['status', { status: 416 }],
    [
      'apple-watch',
      { client: { app: 'Podcasts', device: 'watch', os: 'watchOS', bot: false, watchDuplicate: true } },
    ],
  ])('rule 2: a %s request delivers nothing', (reason, over) => {
    const r = count([s(0, stitchedSize - 1, t0, over)]);
    expect(r.delivered).toEqual([]);
    expect(r.notDelivered[reason as 'bot']).toBe(1);
  });

  it('rule 2: a bytes=0-1 probe delivers nothing', () => {
    const r = count([s(0, 1)]);
    expect(r.notDelivered.probe).toBe(1);
    expect(r.delivered).toEqual([]);
  });

  it('rule 3: ranges (any order, overlapping, a dropped connection) are reassembled per plan and listener', () => {
    const dropped = s(2_000_000, stitchedSize - 1, t0 + 2, { bytesSent: 1_000 }); // asked to the end, sent 1,000
    const r = count([s(1_000_000, 2_000_099, t0 + 1), s(0, 1_000_099, t0), dropped]);
    // The mid-roll's bytes all arrived; the post-roll's never did (the connection dropped).
    expect(r.delivered.map((d) => d.deliveryId)).toEqual(['P-mid-1']);
    expect(r.notDelivered.incomplete).toBe(1);
    // Another listener's bytes do not complete this one's.
    const other = count([
      s(0, 1_020_000, t0),
      s(1_020_001, stitchedSize - 1, t0, { audienceKey: key('k2') }),
    ]);
    expect(other.delivered.filter((d) => d.decisionId === 'P-mid-1')).toEqual([]);
  });

  it('rule 4: every byte of the ad must be sent; one byte short is not delivered', () => {
    const r = count([s(0, mid.end - 2)]);
    expect(r.delivered).toEqual([]);
    expect(r.notDelivered.incomplete).toBe(2);
    expect(count([s(0, mid.end - 1)]).delivered.map((d) => d.deliveryId)).toEqual(['P-mid-1']);
  });

  it('rule 5: the ad counts only when its download is valid: a minute of content, ad bytes not counted', () => {
    // The ad and the content around it, but under 690,000 bytes of the episode file.
    const short = count([s(600_000, 1_300_000)]);
    expect(short.delivered).toEqual([]);
    expect(short.notDelivered['download-invalid']).toBe(1);
    // The same stitched span is over 690,000 bytes if the ad's 50,000 counted; it must not:
    // 640,001 content bytes + 50,000 ad bytes.
    const edge = count([s(410_100, 1_100_100)]);
    expect(edge.delivered).toEqual([]);
    // From the start to past the ad: more than a minute of content.
    expect(count([s(0, 1_100_000)]).delivered.map((d) => d.deliveryId)).toEqual(['P-mid-1']);
  });

  it('rule 5: a listener over the abnormal-rate limit (1.2.1) delivers nothing', () => {
    const facts = [s(0, stitchedSize - 1)];
    const r = countAdDeliveries(
      { downloads: facts, episodes: [ep1], plans },
      { windowMs: 86_400_000, maxDownloadsPerKeyDay: 0 },
    );
    expect(r.delivered).toEqual([]);
    expect(r.rateFiltered.has('ep1\u0000k1')).toBe(true);
  });

  it('rule 6: the shared plan delivers once per listener, under distinct delivery ids', () => {
    const shared = new Map([['P', { ...plan, planKey: 'shared' }]]);
    const r = countAdDeliveries({
      downloads: [
        s(0, stitchedSize - 1),
        s(0, stitchedSize - 1, t0, { audienceKey: key('k2') }),
        s(0, stitchedSize - 1, t0 + 5),
      ],
      episodes: [ep1],
      plans: shared,
    });
    expect(r.delivered).toHaveLength(4);
    expect(new Set(r.delivered.map((d) => d.deliveryId)).size).toBe(4);
    expect(new Set(r.delivered.map((d) => d.decisionId))).toEqual(new Set(['P-mid-1', 'P-post-1']));
  });

  it('counts the episode bytes a stitched file replaces (its old header frame) when their stand-in was sent', () => {
    // ID3 [0, 10) kept, old Xing [10, 200) replaced by a 100-byte new one at stitched [10, 110).
    const replaced: PlanForDelivery = {
      ...plan,
      size: 1_000 - 90,
      content: [
        { start: 0, end: 10, srcStart: 0 },
        { start: 110, end: 910, srcStart: 200 },
      ],
      ads: [],
    };
    const whole = toContentFact(s(0, 909), replaced, 1_000);
    expect(whole.reduce((n, f) => n + f.bytesSent, 0)).toBe(1_000);
    const partOfHeader = toContentFact(s(50, 909), replaced, 1_000);
    expect(partOfHeader.reduce((n, f) => n + f.bytesSent, 0)).toBe(800);
  });

  it('maps stitched ranges to episode bytes for the download count (content runs only)', () => {
    const parts = toContentFact(s(1_000_000, 1_060_099), plan, ep1.fileSize);
    expect(parts.map((f) => [f.rangeStart, f.rangeEnd])).toEqual([
      [999_900, 999_999],
      [1_000_000, 1_009_999],
    ]);
    expect(parts.every((f) => f.planId === undefined && f.fileSize === ep1.fileSize)).toBe(true);
    const adOnly = toContentFact(s(mid.start, mid.end - 1), plan, ep1.fileSize);
    expect(adOnly).toHaveLength(1);
    expect(adOnly[0]!.bytesSent).toBe(0);
  });
});

import { signDecision } from '@swarmcast/ads';
import { Ledger } from '@swarmcast/ledger';
import type { Db } from '@swarmcast/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invalidateDecision, registerEpisode } from '../src/pipeline/pipeline.ts';
import { processBatch } from '../src/pipeline/process-batch.ts';
import { countDownloads } from '../src/rules/downloads.ts';
import { announce, ep1 } from './support/facts.ts';
import { adEvent, crawler, measureDb, playEvent, publicKeys, signer, token } from './support/world.ts';

let db: Db;
beforeAll(async () => {
  db = await measureDb();
  await registerEpisode(db, ep1);
});
afterAll(async () => {
  await db.close();
});

const t = Date.UTC(2026, 10, 4, 9);
const run = (events: Parameters<typeof processBatch>[1]) =>
  db.transaction((tx) => processBatch(tx, events, { publicKeys: () => publicKeys }));
const reasonOf = async (id: string) =>
  (await db.query<{ reason: string | null }>('SELECT reason FROM measure_events WHERE id = $1', [id])).rows[0]
    ?.reason;

describe('processBatch', () => {
  it('charges one impression per decision, and a redelivered batch changes nothing', async () => {
    const tok = token({ decisionId: 'good' });
    const batch = [
      adEvent('impression', tok, t),
      adEvent('start', tok, t),
      adEvent('complete', tok, t + 30_000),
      adEvent('impression', tok, t + 31_000),
    ];
    const first = await run(batch);
    expect(first).toMatchObject({ processed: 4, redelivered: 0, impressionsCharged: 1 });
    const again = await run(batch);
    expect(again).toMatchObject({ processed: 0, redelivered: 4, impressionsCharged: 0 });
    expect(await reasonOf(batch[3]!.id)).toBe('duplicate');
    const ledger = new Ledger(db);
    expect(await ledger.balance('advertiser:adv-1')).toBe(-25_000);
    expect(await ledger.balance('creator:creator')).toBe(17_500);
  });

  it('keeps forged, expired and malformed tokens with their reason', async () => {
    const tok = token({ decisionId: 'forged' });
    const [body, sig] = tok.split('.') as [string, string];
    const decoded = JSON.parse(Buffer.from(body, 'base64url').toString());
    // The same signature over edited claims (a cheaper CPM): a forgery.
    const forged = `${Buffer.from(JSON.stringify({ ...decoded, cpmMicros: 1 })).toString('base64url')}.${sig}`;
    const expired = signDecision({ ...decoded, expiresAt: t - 1 }, signer);
    const events = [
      adEvent('impression', forged, t),
      adEvent('impression', expired, t),
      adEvent('impression', 'junk', t),
    ];
    await run(events);
    expect(await Promise.all(events.map((e) => reasonOf(e.id)))).toEqual(['forged', 'expired', 'malformed']);
  });

  it('bots are kept as IVT and never charged', async () => {
    const tok = token({ decisionId: 'botty' });
    const events = [adEvent('impression', tok, t, { client: crawler }), adEvent('start', tok, t)];
    const r = await run(events);
    expect(r.impressionsCharged).toBe(0);
    expect(await Promise.all(events.map((e) => reasonOf(e.id)))).toEqual(['bot', 'decision-invalid']);
  });

  it('a faster-than-media complete refunds the charged impression', async () => {
    const tok = token({ decisionId: 'fast', advertiserId: 'adv-2', creatorId: 'c2' });
    await run([adEvent('impression', tok, t), adEvent('start', tok, t)]);
    const ledger = new Ledger(db);
    expect(await ledger.balance('creator:c2')).toBe(17_500);
    const r = await run([adEvent('complete', tok, t + 5_000)]);
    expect(r.refunds).toBe(1);
    expect(await ledger.balance('creator:c2')).toBe(0);
    expect(await ledger.balance('advertiser:adv-2')).toBe(0);
    expect((await ledger.check()).balanced).toBe(true);
  });

  it('an operator can invalidate a decision later: refund once', async () => {
    const tok = token({ decisionId: 'later', creatorId: 'c3' });
    await run([adEvent('impression', tok, t)]);
    expect(await invalidateDecision(db, 'later', 'manual', t + 1)).toBe(true);
    expect(await invalidateDecision(db, 'later', 'manual', t + 2)).toBe(false);
    expect(await new Ledger(db).balance('creator:c3')).toBe(0);
  });

  it('play sessions are built from beacons; a replay under a new id is a duplicate', async () => {
    const events = [
      playEvent({}, t),
      playEvent(
        {
          seq: 1,
          event: 'progress',
          positionMs: 10_000,
          listenedMs: 10_000,
          bytesFromPeers: 100,
          bytesFromWebSeed: 50,
        },
        t + 10_000,
      ),
    ];
    await run(events);
    const replay = playEvent(
      { seq: 1, event: 'progress', positionMs: 10_000, listenedMs: 10_000 },
      t + 11_000,
    );
    await run([{ ...replay, id: 'replayed' }]);
    expect(await reasonOf('replayed')).toBe('duplicate');
    const s = await db.query<Record<string, unknown>>(
      'SELECT * FROM measure_play_sessions WHERE session_id = $1',
      ['s1'],
    );
    expect(s.rows[0]).toMatchObject({
      max_position_ms: 10_000,
      bytes_from_peers: 100,
      bytes_from_web_seed: 50,
      invalid: null,
    });
  });

  it('abnormal beacon rates from one key become IVT', async () => {
    const tok = token({ decisionId: 'flood' });
    const events = Array.from({ length: 30 }, (_, i) =>
      adEvent('pause', tok, t + i, { audienceKey: 'flood-key' as never }),
    );
    await db.transaction((tx) =>
      processBatch(tx, events, { publicKeys: () => publicKeys, ivtRules: { maxBeaconsPerKeyHour: 20 } }),
    );
    const reasons = await Promise.all(events.map((e) => reasonOf(e.id)));
    expect(reasons.filter((r) => r === 'rate')).toHaveLength(10);
  });

  it('forged, expired and malformed beacons count toward the rate rule: the next genuine one is rate', async () => {
    const key = { audienceKey: 'forger-key' as never };
    const good = token({ decisionId: 'after-forgeries' });
    const forged = Array.from({ length: 8 }, (_, i) =>
      adEvent('impression', `${good.slice(0, -4)}AAAA`, t + i, key),
    );
    const expired = Array.from({ length: 8 }, (_, i) =>
      adEvent('impression', token({ decisionId: `old-${i}`, expiresAt: t - 1 }), t + 10 + i, key),
    );
    const malformed = Array.from({ length: 4 }, (_, i) =>
      adEvent('impression', `not-a-token-${i}`, t + 20 + i, key),
    );
    const genuine = adEvent('impression', good, t + 30, key);
    const ivtRules = { maxBeaconsPerKeyHour: 20 };
    // Two batches: the count is kept across batches (measure_rates), not only within one.
    await db.transaction((tx) =>
      processBatch(tx, [...forged, ...expired], { publicKeys: () => publicKeys, ivtRules }),
    );
    const r = await db.transaction((tx) =>
      processBatch(tx, [...malformed, genuine], { publicKeys: () => publicKeys, ivtRules }),
    );
    expect(await reasonOf(forged[0]!.id)).toBe('forged');
    expect(await reasonOf(expired[0]!.id)).toBe('expired');
    expect(await reasonOf(malformed[0]!.id)).toBe('malformed');
    // 20 beacons already from this key this hour: the 21st, genuine-looking, is IVT and not billed.
    expect(await reasonOf(genuine.id)).toBe('rate');
    expect(r.impressionsCharged).toBe(0);
  });

  it('bounds the listener ids one audience key contributes a day: the excess is listener-ids IVT', async () => {
    const key = { audienceKey: 'one-ip-one-ua' as never };
    const day2 = t + 86_400_000;
    // Ten ads and ten plays, each with a fresh id, from one address and user agent.
    const ads = Array.from({ length: 10 }, (_, i) =>
      adEvent('impression', token({ decisionId: `lid-ad-${i}`, listenerId: `lid-${i}` }), day2 + i, key),
    );
    const plays = Array.from({ length: 10 }, (_, i) =>
      playEvent({ sessionId: `lid-play-${i}`, listenerId: `lid-${i}` }, day2 + 100 + i, key),
    );
    const first = await run([...ads.slice(0, 5), ...plays.slice(0, 5)]);
    const second = await run([...ads.slice(5), ...plays.slice(5)]);
    // At most 8 ids a day: ads and plays share them (the same 8 ids count once).
    expect(first.impressionsCharged + second.impressionsCharged).toBe(8);
    for (let i = 0; i < 10; i++) {
      expect(await reasonOf(ads[i]!.id), `ad ${i}`).toBe(i < 8 ? null : 'listener-ids');
      expect(await reasonOf(plays[i]!.id), `play ${i}`).toBe(i < 8 ? null : 'listener-ids');
    }
    // A known id keeps counting; the next day the key (and its bound) starts afresh.
    const again = adEvent(
      'impression',
      token({ decisionId: 'lid-ad-again', listenerId: 'lid-3' }),
      day2 + 500,
      key,
    );
    const nextDay = adEvent(
      'impression',
      token({ decisionId: 'lid-ad-next', listenerId: 'lid-99' }),
      day2 + 86_400_000,
      key,
    );
    expect((await run([again, nextDay])).impressionsCharged).toBe(2);
    expect(await reasonOf(again.id)).toBe(null);
    expect(await reasonOf(nextDay.id)).toBe(null);
  });

  it('attributes every torrent identity of an episode: a completed companion counts as a download', async () => {
    const canonical = 'c'.repeat(40);
    const companion = 'd'.repeat(40);
    const v2 = 'e'.repeat(40);
    await registerEpisode(db, {
      ...ep1,
      episodeId: 'ep-ids',
      path: 'show/ids.mp3',
      infoHash: canonical,
      otherInfoHashes: [v2, companion],
    });
    const done = announce({
      time: t,
      infoHash: companion,
      event: 'completed',
      audienceKey: 'aria2-key' as never,
    });
    const viaV2 = announce({
      time: t + 1,
      infoHash: v2,
      event: 'started',
      left: 5,
      audienceKey: 'v2-key' as never,
    });
    await run([
      { id: done.id, subject: 'fact.announce', data: done },
      { id: viaV2.id, subject: 'fact.announce', data: viaV2 },
    ]);
    const rows = await db.query<{
      info_hash: string;
      fact: { infoHash: string; announcedInfoHash?: string };
    }>('SELECT info_hash, fact FROM measure_announces WHERE id = ANY($1::text[]) ORDER BY time', [
      [done.id, viaV2.id],
    ]);
    expect(rows.rows.map((r) => [r.info_hash, r.fact.infoHash, r.fact.announcedInfoHash])).toEqual([
      [canonical, canonical, companion],
      [canonical, canonical, v2],
    ]);
    // The report's download rules see the companion's completion as the episode's download.
    const counted = countDownloads({
      downloads: [],
      announces: rows.rows.map((r) => ({ ...done, ...r.fact }) as never),
      episodes: [{ ...ep1, episodeId: 'ep-ids', path: 'show/ids.mp3', infoHash: canonical }],
    });
    expect(counted.counted.calendar.map((q) => q.episodeId)).toEqual(['ep-ids']);
  });
});

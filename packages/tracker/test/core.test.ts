import { ManualClock } from '@swarmcast/platform';
import { describe, expect, it } from 'vitest';
import { decodeHttpAnnounce } from '../src/codec/http.ts';
import { defaultCodecLimits } from '../src/codec/limits.ts';
import { MemoryAccess } from '../src/core/access.ts';
import { takeToken } from '../src/core/rate-limit.ts';
import type { AnnounceObservation } from '../src/core/tracker-core.ts';
import { isTrackerError } from '../src/errors.ts';
import { MemorySwarmStore } from '../src/store/memory-store.ts';
import { Tracker } from '../src/tracker.ts';
import type { AnnounceRequest, AnnounceResult, InfoHash } from '../src/types.ts';
import { announceQuery, peerId, type QueryFields } from './helpers/announce.ts';

function request(fields: QueryFields, ip = '10.0.0.1', passkey: string | null = null): AnnounceRequest {
  const r = decodeHttpAnnounce(announceQuery(fields), { ip, passkey, userAgent: null }, defaultCodecLimits);
  if (isTrackerError(r)) throw new Error(r.message);
  return r;
}

function setup(options: ConstructorParameters<typeof Tracker>[0] = {}) {
  const clock = new ManualClock(1_700_000_000_000);
  const seen: AnnounceObservation[] = [];
  const tracker = new Tracker({
    clock,
    rateLimit: null,
    observer: { observe: (o) => seen.push(o) },
    store: new MemorySwarmStore({ random: () => 0 }),
    ...options,
  });
  return { tracker, clock, seen };
}

const hash = new Uint8Array(20).fill(9);

/** The ports of the IPv4 peers handed back, packed (compact announces) or as records. */
function ports(r: AnnounceResult): number[] {
  const out: number[] = [];
  if (r.packed)
    for (let i = 0; i < r.packed.v4.length; i += 6) out.push(Buffer.from(r.packed.v4).readUInt16BE(i + 4));
  for (const p of r.peers) out.push(Buffer.from(p.compact).readUInt16BE(4));
  return out;
}

describe('announce core', () => {
  it('counts seeders and leechers and hands each the others', async () => {
    const { tracker } = setup();
    const seed = await tracker.core.announce(
      request({ infoHash: hash, left: 0, event: 'started', port: 1000 }),
    );
    const leech = (await tracker.core.announce(
      request({ infoHash: hash, left: 5, event: 'started', port: 2000, peerId: peerId('-TR3000-') }),
    )) as AnnounceResult;
    expect(isTrackerError(seed)).toBe(false);
    expect(leech).toMatchObject({ complete: 1, incomplete: 1 });
    expect(ports(leech)).toEqual([1000]);
  });
  it('does not hand a seeder to a seeder, nor a peer to itself', async () => {
    const { tracker } = setup();
    await tracker.core.announce(request({ infoHash: hash, left: 0, port: 1000 }));
    const r = (await tracker.core.announce(
      request({ infoHash: hash, left: 0, port: 2000 }),
    )) as AnnounceResult;
    expect(ports(r)).toEqual([]);
    expect(r.complete).toBe(2);
  });
  it('hands seeders to a left=0 started announce with nothing downloaded (aria2 joining by magnet), only then', async () => {
    const { tracker } = setup();
    await tracker.core.announce(request({ infoHash: hash, left: 0, port: 1000 }));
    const magnet = (await tracker.core.announce(
      request({ infoHash: hash, left: 0, event: 'started', downloaded: 0, port: 2000 }),
    )) as AnnounceResult;
    expect(ports(magnet)).toEqual([1000]);
    const regular = (await tracker.core.announce(
      request({ infoHash: hash, left: 0, port: 2000 }),
    )) as AnnounceResult;
    expect(ports(regular)).toEqual([]);
    const finished = (await tracker.core.announce(
      request({ infoHash: hash, left: 0, event: 'started', downloaded: 5, port: 3000 }),
    )) as AnnounceResult;
    expect(ports(finished)).toEqual([]);
  });
  it('moves a leecher to seeder on completed, once', async () => {
    const { tracker } = setup();
    await tracker.core.announce(request({ infoHash: hash, left: 5, event: 'started' }));
    await tracker.core.announce(request({ infoHash: hash, left: 0, event: 'completed' }));
    const r = (await tracker.core.announce(
      request({ infoHash: hash, left: 0, event: 'completed' }),
    )) as AnnounceResult;
    expect(r).toMatchObject({ complete: 1, incomplete: 0, downloaded: 1 });
  });
  it('removes a peer on stopped', async () => {
    const { tracker } = setup();
    await tracker.core.announce(request({ infoHash: hash, left: 5, event: 'started' }));
    const r = (await tracker.core.announce(
      request({ infoHash: hash, left: 5, event: 'stopped' }),
    )) as AnnounceResult;
    expect(r).toMatchObject({ complete: 0, incomplete: 0 });
    expect((await tracker.store.stats()).peers).toBe(0);
  });
  it('caps peers returned at numwant', async () => {
    const { tracker } = setup();
    for (let p = 1; p <= 300; p++) await tracker.core.announce(request({ infoHash: hash, left: 0, port: p }));
    const r = (await tracker.core.announce(
      request({ infoHash: hash, left: 9, port: 5000, numwant: '100000' }),
    )) as AnnounceResult;
    expect(ports(r)).toHaveLength(200);
    expect(r.complete).toBe(300);
  });
  it('expires peers that stop announcing', async () => {
    const { tracker, clock } = setup({ intervals: { peerTtlMs: 60_000 } });
    await tracker.core.announce(request({ infoHash: hash, port: 1 }));
    clock.advance(30_000);
    await tracker.core.announce(request({ infoHash: hash, port: 2 }));
    clock.advance(40_000);
    expect(await tracker.store.sweep(clock.now(), 60_000)).toBe(1);
    expect(await tracker.store.stats()).toEqual({ torrents: 1, peers: 1 });
    clock.advance(60_000);
    await tracker.store.sweep(clock.now(), 60_000);
    expect(await tracker.store.stats()).toEqual({ torrents: 0, peers: 0 });
  });
  it('observes deltas since the previous announce (0 on the first)', async () => {
    const { tracker, seen } = setup();
    await tracker.core.announce(request({ infoHash: hash, uploaded: 100, downloaded: 50, event: 'started' }));
    await tracker.core.announce(request({ infoHash: hash, uploaded: 300, downloaded: 80 }));
    await tracker.core.announce(request({ infoHash: hash, uploaded: 10, downloaded: 0 }));
    expect(seen.map((o) => [o.uploadedDelta, o.downloadedDelta])).toEqual([
      [0, 0],
      [200, 30],
      [10, 0],
    ]);
  });
  it('refuses new swarms past maxTorrents and new peers past maxPeers', async () => {
    const { tracker } = setup({ store: new MemorySwarmStore({ maxTorrents: 2, maxPeers: 3 }) });
    const results = [];
    for (let i = 0; i < 3; i++) {
      results.push(await tracker.core.announce(request({ infoHash: new Uint8Array(20).fill(i) })));
    }
    expect(results.map((r) => (isTrackerError(r) ? r.error : 'ok'))).toEqual(['ok', 'ok', 'TRK_FULL']);
    await tracker.core.announce(request({ infoHash: new Uint8Array(20).fill(0), port: 2 }));
    const over = await tracker.core.announce(request({ infoHash: new Uint8Array(20).fill(0), port: 3 }));
    expect(isTrackerError(over) && over.error).toBe('TRK_FULL');
  });
});

describe('synchronous announce (announceSoon)', () => {
  it('answers at once on the memory store, with the fact observed, the same as announce', async () => {
    const { tracker, seen } = setup();
    const first = tracker.core.announceSoon(request({ infoHash: hash, left: 0, port: 1000 }));
    expect(first).not.toBeInstanceOf(Promise);
    expect(seen).toHaveLength(1);
    const second = tracker.core.announceSoon(
      request({ infoHash: hash, left: 5, port: 2000, peerId: peerId('-TR3000-') }),
    ) as AnnounceResult;
    expect(second).toMatchObject({ complete: 1, incomplete: 1 });
    expect(ports(second)).toEqual([1000]);
  });
  it('gives a promise in private mode and for a store that answers later', async () => {
    const access = new MemoryAccess();
    access.addPasskey('passkey-alice-0001', 'alice');
    access.register('09'.repeat(20) as InfoHash);
    const priv = setup({ access });
    const p = priv.tracker.core.announceSoon(request({ infoHash: hash }, '10.0.0.1', 'passkey-alice-0001'));
    expect(p).toBeInstanceOf(Promise);
    expect(isTrackerError(await p)).toBe(false);
    const memory = new MemorySwarmStore({ random: () => 0 });
    // A store without announceNow (as Redis): the answer comes through its promise.
    const later = setup({ store: { ...bind(memory), announceNow: undefined } });
    const q = later.tracker.core.announceSoon(request({ infoHash: hash, left: 0, port: 1000 }));
    expect(q).toBeInstanceOf(Promise);
    expect(await q).toMatchObject({ complete: 1, incomplete: 0 });
    expect(later.seen).toHaveLength(1);
    const failing = setup({
      store: { ...bind(memory), announceNow: undefined, announce: () => Promise.reject(new Error('down')) },
    });
    expect(await failing.tracker.core.announceSoon(request({ infoHash: hash }))).toMatchObject({
      error: 'TRK_STORE_UNAVAILABLE',
    });
  });
});

/** The store's methods bound to it, to build a variant store from. */
function bind(store: MemorySwarmStore) {
  return {
    announce: store.announce.bind(store),
    scrape: store.scrape.bind(store),
    torrents: store.torrents.bind(store),
    stats: store.stats.bind(store),
    sweep: store.sweep.bind(store),
    close: store.close.bind(store),
  };
}

describe('private mode', () => {
  it('refuses unknown passkeys and unregistered torrents, credits accounts', async () => {
    const access = new MemoryAccess();
    access.addPasskey('passkey-alice-0001', 'alice');
    access.register('09'.repeat(20) as InfoHash);
    const { tracker } = setup({ access });
    const none = await tracker.core.announce(request({ infoHash: hash }));
    expect(isTrackerError(none) && none.error).toBe('TRK_UNKNOWN_PASSKEY');
    const wrong = await tracker.core.announce(request({ infoHash: hash }, '10.0.0.1', 'passkey-mallory-01'));
    expect(isTrackerError(wrong) && wrong.error).toBe('TRK_UNKNOWN_PASSKEY');
    const other = await tracker.core.announce(
      request({ infoHash: new Uint8Array(20) }, '10.0.0.1', 'passkey-alice-0001'),
    );
    expect(isTrackerError(other) && other.error).toBe('TRK_NOT_REGISTERED');
    await tracker.core.announce(
      request({ infoHash: hash, uploaded: 10, downloaded: 20 }, '10.0.0.1', 'passkey-alice-0001'),
    );
    await tracker.core.announce(
      request({ infoHash: hash, uploaded: 110, downloaded: 20 }, '10.0.0.1', 'passkey-alice-0001'),
    );
    expect(await access.totals('alice')).toEqual({ uploaded: 110, downloaded: 20 });
  });
});

describe('rate limit', () => {
  it.each([
    // [tokens before, ms elapsed, allowed, tokens after]
    [undefined, 0, true, 9],
    [0, 0, false, 0],
    [0, 100, true, 0],
    [0.5, 0, false, 0.5],
    [5, 100_000, true, 9],
  ])('bucket with %s tokens after %i ms -> %s', (tokens, elapsed, allowed, after) => {
    const rule = { perSecond: 10, burst: 10 };
    const bucket = tokens === undefined ? undefined : { tokens, updated: 0 };
    const r = takeToken(bucket, elapsed, rule);
    expect(r.allowed).toBe(allowed);
    expect(r.bucket.tokens).toBeCloseTo(after);
  });
  it('limits a flood from one address but not its neighbour', async () => {
    const { tracker } = setup({ rateLimit: { perSecond: 1, burst: 10 } });
    let refused = 0;
    for (let i = 0; i < 100; i++) {
      const r = await tracker.core.announce(request({ infoHash: hash, port: 1 + i }, '10.9.9.9'));
      if (isTrackerError(r) && r.error === 'TRK_RATE_LIMITED') refused++;
    }
    expect(refused).toBe(90);
    expect(isTrackerError(await tracker.core.announce(request({ infoHash: hash }, '10.9.9.8')))).toBe(false);
  });
});

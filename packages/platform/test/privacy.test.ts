import { createHmac } from 'node:crypto';
import { open, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requireServices, scratchDir, scratchPostgres, serviceUrl } from '@swarmcast/testkit';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import {
  addressPrefix,
  audienceKeyWithSalt,
  classifyPeerId,
  clientFamilyFromPeerId,
  createAudienceKeys,
  type Db,
  fileSaltStore,
  loadAddressList,
  memoizedClientFamily,
  memorySaltStore,
  migrate,
  openDb,
  type PlatformError,
  parseAddressList,
  privacyMigrations,
  redisSaltStore,
  saltDestroyAt,
  saltGraceMs,
  utcDay,
} from '../src/index.ts';

const pgPrereq = await requireServices('salt store on PostgreSQL', 'postgres');
const DAY = 86_400_000;
const t0 = Date.parse('2026-03-04T10:00:00Z');

describe('addressPrefix', () => {
  const cases: [string, string][] = [
    ['203.0.113.9', '203.0.113.9'],
    ['::ffff:203.0.113.9', '203.0.113.9'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::99', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
    ['not an ip', 'not an ip'],
  ];
  for (const [ip, want] of cases) it(`${ip} -> ${want}`, () => expect(addressPrefix(ip)).toBe(want));
  it('a client that already went away (no address) gets a key instead of a throw', async () => {
    expect(addressPrefix(undefined)).toBe('');
    const keys = createAudienceKeys(memorySaltStore());
    // Fastify's req.ip after the socket closed: typed string, undefined at run time.
    await expect(keys.audienceKey(undefined as unknown as string, 'ua', t0)).resolves.toMatch(
      /^[0-9a-f]{64}$/,
    );
  });
});

describe('audience keys', () => {
  it('is an HMAC-SHA256 in hex, equal within a /64 and a day, different across days', async () => {
    const keys = createAudienceKeys(memorySaltStore());
    const ua = 'Podcasts/1410.53 CFNetwork/1111 Darwin/19.0.0';
    const a = await keys.audienceKey('2001:db8:1:2::10', ua, t0);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(await keys.audienceKey('2001:db8:1:2:ffff::1', ua, t0 + 3600_000)).toBe(a);
    expect(await keys.audienceKey('2001:db8:1:3::10', ua, t0)).not.toBe(a);
    expect(await keys.audienceKey('2001:db8:1:2::10', `${ua} x`, t0)).not.toBe(a);
    expect(await keys.audienceKey('2001:db8:1:2::10', ua, t0 + DAY)).not.toBe(a);
    expect(await keys.audienceKey('203.0.113.9', ua, t0)).toBe(
      await keys.audienceKey('::ffff:203.0.113.9', ua, t0),
    );
  });

  it('utcDay gives each time its own UTC day, forward and back across midnight', () => {
    const midnight = Date.parse('2026-03-05T00:00:00Z');
    const times = [midnight - 1, midnight, midnight - 1, midnight + DAY - 1, midnight + DAY, 0, -1, midnight];
    for (const t of times) expect(utcDay(t)).toBe(new Date(t).toISOString().slice(0, 10));
    expect(() => utcDay(Number.NaN)).toThrow(RangeError);
  });

  it('a kept salt asked at its destroy time is gone at once (memory and file stores)', async () => {
    let now = t0;
    const day = utcDay(t0);
    const dir = await scratchDir('salts-');
    for (const store of [
      memorySaltStore(undefined, () => now),
      fileSaltStore(dir.path, { now: () => now }),
    ]) {
      now = t0;
      const kept = Buffer.from(await store.saltFor(day));
      expect(Buffer.from(await store.saltFor(day)).equals(kept)).toBe(true);
      now = saltDestroyAt(day);
      expect(Buffer.from(await store.saltFor(day)).equals(kept)).toBe(false);
      await store.close?.();
    }
    await dir.remove();
  });

  it('matches an independent HMAC computation', () => {
    const salt = new Uint8Array(32).fill(7);
    const want = createHmac('sha256', salt).update('198.51.100.4\nUA').digest('hex');
    expect(audienceKeyWithSalt(salt, '198.51.100.4', 'UA')).toBe(want);
  });

  it('destroys each salt at a fixed time: the end of its day plus the grace, whatever is asked', async () => {
    let now = t0;
    const store = memorySaltStore(undefined, () => now);
    const day = utcDay(t0);
    const s1 = await store.saltFor(day);
    expect(saltDestroyAt(day)).toBe(Date.parse(`${day}T00:00:00Z`) + DAY + saltGraceMs);
    // Late events just after midnight still get the day's salt (same keys, windows hold).
    now = saltDestroyAt(day) - 1;
    expect(Buffer.from(await store.saltFor(day)).equals(Buffer.from(s1))).toBe(true);
    expect(store.days()).toEqual([day]);
    now = saltDestroyAt(day);
    expect(store.days()).toEqual([]);
    // Asking again never brings it back: a fresh salt that is not kept.
    const again = await store.saltFor(day);
    expect(Buffer.from(again).equals(Buffer.from(s1))).toBe(false);
    expect(store.days()).toEqual([]);
  });
});

const redisPrereq = await requireServices('salt store on Redis', 'redis');

describe('shared salt stores (never in the database)', () => {
  it('file store: every process of a node reads one salt; at its destroy time the file is overwritten and removed', async () => {
    const dir = await scratchDir('swarmcast-salts-');
    try {
      let now = t0;
      const day = utcDay(t0);
      const a = fileSaltStore(dir.path, { now: () => now });
      const b = fileSaltStore(dir.path, { now: () => now });
      const [s1, s2] = await Promise.all([a.saltFor(day), b.saltFor(day)]);
      expect(Buffer.from(s1).equals(Buffer.from(s2))).toBe(true);
      expect(s1.length).toBe(32);
      const file = join(dir.path, `${day}.salt`);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      // The next day's salt is made; yesterday's stays until its destroy time (02:00).
      now = Date.parse(`${utcDay(t0 + DAY)}T00:30:00Z`);
      await a.saltFor(utcDay(now));
      expect((await readdir(dir.path)).sort()).toEqual([`${day}.salt`, `${utcDay(now)}.salt`]);
      now = saltDestroyAt(day);
      // Watch the file being overwritten before it goes: open it first, then sweep.
      const handle = await open(file, 'r');
      expect(await b.sweep()).toEqual([day]);
      const left = Buffer.alloc(32);
      await handle.read(left, 0, 32, 0);
      await handle.close();
      expect(left.equals(Buffer.from(s1))).toBe(false);
      expect(await readdir(dir.path)).toEqual([`${utcDay(t0 + DAY)}.salt`]);
      // Neither process hands out the destroyed salt from its cache.
      expect(Buffer.from(await a.saltFor(day)).equals(Buffer.from(s1))).toBe(false);
      expect(await readdir(dir.path)).toEqual([`${utcDay(t0 + DAY)}.salt`]);
      await a.close?.();
      await b.close?.();
    } finally {
      await dir.remove();
    }
  });

  it.skipIf(redisPrereq.skip)(
    'Redis store: one salt for every process, expiring at its destroy time by itself',
    async () => {
      const prefix = `swarmcast-test:salt:${Date.now()}:`;
      const r1 = new Redis(serviceUrl('redis'));
      const r2 = new Redis(serviceUrl('redis'));
      try {
        const now = Date.now();
        const day = utcDay(now);
        const [s1, s2] = await Promise.all([
          redisSaltStore(r1, { prefix }).saltFor(day),
          redisSaltStore(r2, { prefix }).saltFor(day),
        ]);
        expect(Buffer.from(s1).equals(Buffer.from(s2))).toBe(true);
        const ttl = await r1.pttl(`${prefix}${day}`);
        const want = saltDestroyAt(day) - now;
        expect(ttl).toBeGreaterThan(want - 60_000);
        expect(ttl).toBeLessThanOrEqual(want);
        // A day already past its destroy time is never written.
        const old = utcDay(now - 3 * DAY);
        await redisSaltStore(r1, { prefix }).saltFor(old);
        expect(await r1.exists(`${prefix}${old}`)).toBe(0);
        await r1.del(`${prefix}${day}`);
      } finally {
        r1.disconnect();
        r2.disconnect();
      }
    },
  );
});

const engines: {
  name: string;
  skip: boolean;
  open(): Promise<{ db: Db; db2: Db; done(): Promise<void> }>;
}[] = [
  {
    name: 'pglite',
    skip: false,
    async open() {
      const dir = await scratchDir('swarmcast-salt-');
      const db = await openDb({ dataDir: dir.path });
      return {
        db,
        db2: db,
        done: async () => {
          await db.close();
          await dir.remove();
        },
      };
    },
  },
  {
    name: 'postgres',
    skip: pgPrereq.skip,
    async open() {
      const scratch = await scratchPostgres('swarmcast_salts');
      const db = await openDb({ databaseUrl: scratch.url });
      const db2 = await openDb({ databaseUrl: scratch.url });
      return {
        db,
        db2,
        done: async () => {
          await db.close();
          await db2.close();
          await scratch.drop();
        },
      };
    },
  },
];

for (const engine of engines) {
  describe.skipIf(engine.skip)(`salts leave the database on ${engine.name}`, () => {
    it('the migration removes salt rows a node kept before', async () => {
      const { db, done } = await engine.open();
      try {
        await migrate(db, privacyMigrations.slice(0, 1));
        await db.query('INSERT INTO platform_daily_salts (day, salt) VALUES ($1, $2)', [
          utcDay(t0),
          Buffer.alloc(32, 9),
        ]);
        expect((await migrate(db, privacyMigrations)).applied).toEqual([
          'platform/0002-no-salts-in-database',
        ]);
        const left = await db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'platform_daily_salts'",
        );
        expect(Number(left.rows[0]!.n)).toBe(0);
      } finally {
        await done();
      }
    });
  });
}

describe('parseAddressList (data-centre ranges)', () => {
  const sample = `
# sample operator list
192.0.2.0/24        # TEST-NET-1 as a "data centre"
198.51.100.7
10.0.0.0/8
10.1.0.0/16         # inside the one above: merged
2001:db8::/32
`;
  const list = parseAddressList(sample);
  const cases: [string, boolean][] = [
    ['192.0.2.0', true],
    ['192.0.2.255', true],
    ['192.0.3.0', false],
    ['198.51.100.7', true],
    ['198.51.100.8', false],
    ['10.200.3.4', true],
    ['11.0.0.0', false],
    ['::ffff:192.0.2.77', true],
    ['2001:db8:ffff::1', true],
    ['2001:db9::1', false],
    ['garbage', false],
  ];
  for (const [ip, want] of cases) it(`${ip} -> ${want}`, () => expect(list.isDatacenter(ip)).toBe(want));

  it('merges overlapping ranges and treats the shipped default as no data centres', async () => {
    expect(list.rangeCount).toBe(4);
    const shipped = await loadAddressList();
    expect(shipped.rangeCount).toBe(0);
    expect(shipped.isDatacenter('192.0.2.1')).toBe(false);
  });

  it('loads an operator file', async () => {
    const dir = await scratchDir('swarmcast-dc-');
    try {
      const path = join(dir.path, 'dc.txt');
      await writeFile(path, sample);
      expect((await loadAddressList(path)).isDatacenter('10.9.9.9')).toBe(true);
    } finally {
      await dir.remove();
    }
  });

  it('names the bad line of a malformed list', () => {
    for (const bad of [
      '192.0.2.0/33',
      '300.1.1.1',
      '2001:db8::/129',
      '1.2.3.4/24 extra',
      '1.2.3.4/x',
      'a/b/c',
    ]) {
      const err = (() => {
        try {
          parseAddressList(`# ok\n${bad}\n`);
        } catch (e) {
          return e as PlatformError;
        }
      })();
      expect(err?.code, bad).toBe('PLT_ADDRESS_LIST_INVALID');
      expect(err?.message).toContain('line 2');
    }
  });
});

describe('clientFamilyFromPeerId', () => {
  const cases: [string, string][] = [
    ['-qB4520-abcdefghijkl', 'qBittorrent'],
    ['-TR3000-abcdefghijkl', 'Transmission'],
    ['-WW0208-abcdefghijkl', 'WebTorrent'],
    ['-UT355W-abcdefghijkl', 'µTorrent'],
    ['-lt0D80-abcdefghijkl', 'rTorrent'],
    ['-LT2090-abcdefghijkl', 'libtorrent'],
    ['-DE13F0-abcdefghijkl', 'Deluge'],
    ['-SC0001-abcdefghijkl', 'Swarmcast'],
    ['A2-1-37-0-abcdefghij', 'aria2'],
    ['M7-4-0--abcdefghijkl', 'BitTorrent'],
    ['S58B-----abcdefghijk', 'Shadow'],
    ['T03I--abcdefghijklmn', 'BitTornado'],
    ['-ZZ1234-abcdefghijkl', 'unknown'],
    ['\u0000\u0001\u0002garbage...........', 'unknown'],
    ['', 'unknown'],
  ];
  for (const [id, want] of cases)
    it(`${JSON.stringify(id)} -> ${want}`, () => expect(clientFamilyFromPeerId(id)).toBe(want));

  it('reads raw bytes as the tracker receives them', () => {
    expect(clientFamilyFromPeerId(new TextEncoder().encode('-qB4520-abcdefghijkl'))).toBe('qBittorrent');
    expect(clientFamilyFromPeerId(new Uint8Array(20).fill(0xff))).toBe('unknown');
  });
});

describe('memoizedClientFamily', () => {
  it('answers as the classifier for every id, asking it once per Azureus prefix', () => {
    let asked = 0;
    const family = memoizedClientFamily((id) => {
      asked++;
      return classifyPeerId(id);
    });
    const ids = [
      '-qB4520-aaaaaaaaaaaa',
      '-qB4520-bbbbbbbbbbbb',
      '-qB4521-aaaaaaaaaaaa',
      '-TR3000-aaaaaaaaaaaa',
      '-ZZ9999-aaaaaaaaaaaa',
      '-q!4520-aaaaaaaaaaaa',
      '-qB4520xaaaaaaaaaaaa',
      'A2-1-37-0-aaaaaaaaaa',
      'M7-4-0--aaaaaaaaaaaa',
      'S58B-----aaaaaaaaaaa',
      'xyz',
      '',
    ];
    for (const text of [...ids, ...ids]) {
      const id = new Uint8Array(Buffer.from(text, 'latin1'));
      expect(family(id)).toBe(classifyPeerId(id));
    }
    // Azureus-style ids once per distinct 8-byte prefix (5), the other 6 every time.
    expect(asked).toBe(5 + 2 * 6);
  });
});

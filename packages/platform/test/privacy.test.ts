import { createHmac } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requireServices, scratchDir, scratchPostgres } from '@swarmcast/testkit';
import { describe, expect, it } from 'vitest';
import {
  addressPrefix,
  audienceKeyWithSalt,
  clientFamilyFromPeerId,
  createAudienceKeys,
  type Db,
  dbSaltStore,
  loadAddressList,
  memorySaltStore,
  migrate,
  openDb,
  type PlatformError,
  parseAddressList,
  privacyMigrations,
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

  it('matches an independent HMAC computation', () => {
    const salt = new Uint8Array(32).fill(7);
    const want = createHmac('sha256', salt).update('198.51.100.4\nUA').digest('hex');
    expect(audienceKeyWithSalt(salt, '198.51.100.4', 'UA')).toBe(want);
  });

  it('keeps today and yesterday in memory and destroys older salts', async () => {
    const store = memorySaltStore();
    for (let d = 0; d < 5; d++) await store.saltFor(utcDay(t0 + d * DAY));
    expect(store.days()).toEqual([utcDay(t0 + 3 * DAY), utcDay(t0 + 4 * DAY)]);
  });
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
  describe.skipIf(engine.skip)(`database salt store on ${engine.name}`, () => {
    it('creates one salt per day for all processes, and deletes salts older than yesterday', async () => {
      const { db, db2, done } = await engine.open();
      try {
        await migrate(db, privacyMigrations);
        const day = utcDay(t0);
        // Two "processes" racing on the first request of the day agree on one salt.
        const [s1, s2] = await Promise.all([dbSaltStore(db).saltFor(day), dbSaltStore(db2).saltFor(day)]);
        expect(Buffer.from(s1).equals(Buffer.from(s2))).toBe(true);
        expect(s1.length).toBe(32);
        const store = dbSaltStore(db);
        for (let d = 1; d <= 3; d++) await store.saltFor(utcDay(t0 + d * DAY));
        const { rows } = await db.query<{ day: Date }>('SELECT day FROM platform_daily_salts ORDER BY day');
        expect(rows.map((r) => r.day.toISOString().slice(0, 10))).toEqual([
          utcDay(t0 + 2 * DAY),
          utcDay(t0 + 3 * DAY),
        ]);
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

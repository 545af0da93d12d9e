import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type Db, ManualClock } from '@swarmcast/platform';
import { scratchDir } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Account,
  authenticate,
  type CatalogContext,
  checkPassword,
  createAccount,
  createApiToken,
  createSession,
  createShow,
  episodeForAds,
  getEpisode,
  isTakenDown,
  latestEpisodes,
  listAccounts,
  popularShows,
  publishEpisode,
  reinstateEpisode,
  revokeCredential,
  scheduleEpisode,
  search,
  seedableEpisodes,
  setAdBreaks,
  setSuspended,
  showForEditing,
  storeUpload,
  takeDownEpisode,
  takenDownEpisodes,
} from '../src/index.ts';
import { engines } from './engines.ts';

const demo = join(import.meta.dirname, '..', 'demo-media');
const all = await engines('catalog data layer');

async function filesUnder(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true })).map(String).sort();
  } catch {
    return [];
  }
}

for (const engine of all) {
  describe.skipIf(engine.skip)(`catalog data on ${engine.name}`, () => {
    let db: Db;
    let ctx: CatalogContext;
    let dir: Awaited<ReturnType<typeof scratchDir>>;
    let ada: Account;
    let bob: Account;
    const clock = new ManualClock(Date.UTC(2026, 5, 1));

    beforeAll(async () => {
      db = await engine.open();
      dir = await scratchDir();
      ctx = {
        db,
        clock,
        mediaDir: join(dir.path, 'media'),
        uploadsDir: join(dir.path, 'uploads'),
        maxUploadBytes: 1_000_000,
        mediaUrl: (p) => `http://node.test/media/${p}`,
        publicUrl: () => 'http://node.test',
        trackers: () => ['http://node.test/announce'],
        torrents: null,
      };
      const a = await createAccount(db, {
        email: 'Ada@Example.org',
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
    });
    afterAll(async () => {
      await db?.close();
      await engine.teardown();
      await dir?.remove();
    });

    describe('accounts', () => {
      it('stores no password, only a scrypt hash', async () => {
        const r = await db.query<{ password_hash: string }>(
          'select password_hash from catalog_accounts where id = $1',
          [ada.id],
        );
        expect(r.rows[0]?.password_hash).toMatch(/^scrypt\$32768\$8\$1\$/);
        expect(r.rows[0]?.password_hash).not.toContain('correct horse');
      });

      it('refuses a second account with the same email, in any case', async () => {
        const r = await createAccount(db, { email: 'ADA@example.org', name: 'X', password: 'whatever12345' });
        expect(!r.ok && r.code).toBe('CAT_EMAIL_TAKEN');
      });

      it.each([
        [{ email: 'no-at-sign', name: 'x', password: '0123456789' }],
        [{ email: 'a@b.c', name: '', password: '0123456789' }],
        [{ email: 'a@b.c', name: 'x', password: 'short' }],
        [{ email: 'a@b.c', name: 'x', password: '0123456789', role: 'root' }],
      ])('refuses bad sign-up fields %#', async (input) => {
        const r = await createAccount(db, input as never);
        expect(!r.ok && r.code).toBe('CAT_BAD_INPUT');
      });

      it('logs in with the right password only', async () => {
        expect((await checkPassword(db, 'ada@example.org', 'correct horse battery')).ok).toBe(true);
        const wrong = await checkPassword(db, 'ada@example.org', 'correct horse batterY');
        expect(!wrong.ok && wrong.code).toBe('CAT_BAD_CREDENTIALS');
        const nobody = await checkPassword(db, 'nobody@example.org', 'correct horse battery');
        expect(!nobody.ok && nobody.code).toBe('CAT_BAD_CREDENTIALS');
      });

      it('web sessions expire after 30 days; API tokens last until revoked', async () => {
        const session = await createSession(db, ada.id, clock);
        const token = await createApiToken(db, ada.id, 'script');
        expect((await authenticate(db, session, 'web', clock))?.id).toBe(ada.id);
        expect(await authenticate(db, session, 'api', clock)).toBeNull();
        expect((await authenticate(db, token, 'api', clock))?.email).toBe('ada@example.org');
        const later = new ManualClock(clock.now() + 31 * 24 * 3600 * 1000);
        expect(await authenticate(db, session, 'web', later)).toBeNull();
        expect((await authenticate(db, token, 'api', later))?.id).toBe(ada.id);
        await revokeCredential(db, token);
        expect(await authenticate(db, token, 'api', clock)).toBeNull();
        expect(await authenticate(db, `${session}x`, 'web', clock)).toBeNull();
      });

      it('a suspended account cannot log in, and its sessions and tokens are refused until reinstated', async () => {
        const made = await createAccount(db, {
          email: 'sus@example.org',
          name: 'Sus',
          password: 'correct horse battery',
        });
        if (!made.ok) throw new Error(made.message);
        const id = made.value.id;
        const session = await createSession(db, id, clock);
        const token = await createApiToken(db, id, 'script');
        expect((await setSuspended(db, id, true, clock)).ok).toBe(true);
        const login = await checkPassword(db, 'sus@example.org', 'correct horse battery');
        expect(!login.ok && [login.code, login.status]).toEqual(['CAT_SUSPENDED', 403]);
        // The wrong password still says only that: a suspension is told to the owner alone.
        const wrong = await checkPassword(db, 'sus@example.org', 'not the password');
        expect(!wrong.ok && wrong.code).toBe('CAT_BAD_CREDENTIALS');
        expect(await authenticate(db, session, 'web', clock)).toBeNull();
        expect(await authenticate(db, token, 'api', clock)).toBeNull();
        const listed = (await listAccounts(db)).find((a) => a.id === id);
        expect(listed?.suspendedAt).toEqual(new Date(clock.now()));
        expect((await setSuspended(db, id, false, clock)).ok).toBe(true);
        expect((await authenticate(db, session, 'web', clock))?.id).toBe(id);
        expect((await authenticate(db, token, 'api', clock))?.id).toBe(id);
        expect((await checkPassword(db, 'sus@example.org', 'correct horse battery')).ok).toBe(true);
        expect((await listAccounts(db)).find((a) => a.id === id)?.suspendedAt).toBeNull();
        const nobody = await setSuspended(db, 'no-such-id', true, clock);
        expect(!nobody.ok && nobody.code).toBe('CAT_NOT_FOUND');
      });
    });

    describe('shows, upload and publish', () => {
      it('creates shows for creators; an advertiser cannot', async () => {
        const r = await createShow(db, ada, {
          slug: 'ada-talks',
          title: 'Ada talks',
          description: 'Engines',
          categories: ['Technology'],
        });
        expect(r.ok && r.value.ownerId).toBe(ada.id);
        const taken = await createShow(db, bob, { slug: 'ada-talks', title: 'Mine' });
        expect(!taken.ok && taken.code).toBe('CAT_SLUG_TAKEN');
        const adv = await createAccount(db, {
          email: 'ads@example.org',
          name: 'Ads',
          password: '0123456789',
          role: 'advertiser',
        });
        const refused = await createShow(db, (adv as { value: Account }).value, {
          slug: 'ads-show',
          title: 'x',
        });
        expect(!refused.ok && refused.code).toBe('CAT_FORBIDDEN');
        for (const slug of ['../etc', 'UPPER', 'a/b', '', '-x', 'x'.repeat(65)]) {
          const bad = await createShow(db, ada, { slug, title: 'x' });
          expect(!bad.ok && bad.code, slug).toBe('CAT_BAD_INPUT');
        }
      });

      it('uploads, probes and publishes an episode with ad breaks', async () => {
        const up = await storeUpload(ctx, ada, createReadStream(join(demo, 'welcome.mp3')), {
          originalName: '../../etc/passwd.mp3',
          declaredBytes: (await stat(join(demo, 'welcome.mp3'))).size,
        });
        expect(up.ok).toBe(true);
        if (!up.ok) return;
        expect(up.value.originalName).toBe('.._.._etc_passwd.mp3');
        clock.advance(1000);
        const pub = await publishEpisode(ctx, ada, {
          showSlug: 'ada-talks',
          uploadId: up.value.id,
          title: 'Welcome <script>alert(1)</script>',
          description: 'First',
          adBreaks: [{ position: 'pre' }, { position: 'mid', chapter: 1 }, { position: 'post', maxAds: 1 }],
        });
        expect(pub.ok).toBe(true);
        if (!pub.ok) return;
        const ep = pub.value;
        expect(ep.title).toBe('Welcome <script>alert(1)</script>');
        expect(ep.media?.path).toMatch(/^ada-talks\/welcome-script-alert-1-script-[0-9a-f]{8}\.mp3$/);
        expect((await stat(join(ctx.mediaDir, ep.media!.path))).size).toBe(up.value.size);
        expect(await filesUnder(ctx.uploadsDir)).toEqual([]);
        const forAds = await episodeForAds(db, ep.id);
        expect(forAds).toMatchObject({
          creatorId: ada.id,
          mediaKind: 'audio',
          language: 'en',
          categories: ['technology'],
        });
        expect(forAds?.adBreaks.map((b) => `${b.id}@${b.offsetMs}`)).toEqual([
          'pre@0',
          `mid-1@${ep.chapters[1]?.startMs}`,
          `post@${ep.durationMs}`,
        ]);
        expect(await episodeForAds(db, '00000000-0000-4000-8000-000000000000')).toBeNull();
        expect(await episodeForAds(db, "'; drop table catalog_episodes; --")).toBeNull();
      });

      it("refuses to publish to another creator's show, and writes nothing", async () => {
        const up = await storeUpload(ctx, bob, createReadStream(join(demo, 'swarm.mp3')), {});
        expect(up.ok).toBe(true);
        if (!up.ok) return;
        const before = await db.query<{ n: number }>('select count(*) as n from catalog_episodes');
        const media = await filesUnder(ctx.mediaDir);
        const r = await publishEpisode(ctx, bob, {
          showSlug: 'ada-talks',
          uploadId: up.value.id,
          title: 'Hijack',
        });
        expect(!r.ok && [r.code, r.status]).toEqual(['CAT_FORBIDDEN', 403]);
        expect((await db.query<{ n: number }>('select count(*) as n from catalog_episodes')).rows).toEqual(
          before.rows,
        );
        expect(await filesUnder(ctx.mediaDir)).toEqual(media);
        // Nor may Ada publish Bob's upload into her own show.
        const stolen = await publishEpisode(ctx, ada, {
          showSlug: 'ada-talks',
          uploadId: up.value.id,
          title: 'Mine now',
        });
        expect(!stolen.ok && stolen.code).toBe('CAT_NOT_FOUND');
        const ep = (await latestEpisodes(db, 1))[0]!;
        const breaks = await setAdBreaks(db, bob, ep.id, [{ position: 'pre' }]);
        expect(!breaks.ok && breaks.code).toBe('CAT_FORBIDDEN');
        expect((await showForEditing(db, bob, 'ada-talks')).ok).toBe(false);
      });

      it('refuses oversized, truncated and fake uploads, leaving nothing behind', async () => {
        const waiting = await filesUnder(ctx.uploadsDir);
        const big = await storeUpload(
          ctx,
          ada,
          Readable.from([Buffer.alloc(600_000), Buffer.alloc(600_000)]),
          {},
        );
        expect(!big.ok && [big.code, big.status]).toEqual(['CAT_UPLOAD_TOO_LARGE', 413]);
        const declaredBig = await storeUpload(ctx, ada, Readable.from([Buffer.alloc(10)]), {
          declaredBytes: 2_000_000,
        });
        expect(!declaredBig.ok && declaredBig.code).toBe('CAT_UPLOAD_TOO_LARGE');
        const short = await storeUpload(ctx, ada, Readable.from([Buffer.alloc(1000)]), {
          declaredBytes: 5000,
        });
        expect(!short.ok && [short.code, short.status]).toEqual(['CAT_UPLOAD_TRUNCATED', 400]);
        const broken = new Readable({
          read() {
            this.push(Buffer.alloc(1000));
            this.destroy(new Error('connection reset'));
          },
        });
        const cut = await storeUpload(ctx, ada, broken, {});
        expect(!cut.ok && cut.code).toBe('CAT_UPLOAD_TRUNCATED');
        const fake = await storeUpload(
          ctx,
          ada,
          Readable.from([Buffer.from('#!/bin/sh\nrm -rf /\n'.repeat(500))]),
          {
            originalName: 'episode.mp3',
          },
        );
        expect(!fake.ok && [fake.code, fake.status]).toEqual(['CAT_NOT_MEDIA', 415]);
        const pending = await db.query<{ n: number }>(
          'select count(*) as n from catalog_uploads where account_id = $1',
          [ada.id],
        );
        expect(pending.rows[0]?.n).toBe(0);
        expect(await filesUnder(ctx.uploadsDir)).toEqual(waiting);
      });

      it('finds shows and episodes by full-text search; SQL metacharacters are just text', async () => {
        const hits = await search(db, 'welcome');
        expect(hits.map((h) => [h.kind, h.slug])).toContainEqual(['episode', 'ada-talks']);
        const shows = await search(db, 'engines');
        expect(shows[0]).toMatchObject({ kind: 'show', slug: 'ada-talks' });
        // What people type before they finish the word: "welc" finds "Welcome".
        expect((await search(db, 'welc')).map((h) => [h.kind, h.slug])).toContainEqual([
          'episode',
          'ada-talks',
        ]);
        expect(await search(db, 'zzqx')).toEqual([]);
        for (const q of [
          "'; drop table catalog_shows; --",
          '" OR 1=1 --',
          '\\',
          '%_',
          '&|!():*',
          'a'.repeat(5000),
        ]) {
          await expect(search(db, q)).resolves.toBeInstanceOf(Array);
        }
        expect((await db.query<{ n: number }>('select count(*) as n from catalog_shows')).rows[0]?.n).toBe(1);
        expect(await search(db, '   ')).toEqual([]);
      });

      it('ranks popular shows by views and returns full episode details', async () => {
        const [ep] = await latestEpisodes(db, 5);
        const detail = await getEpisode(db, ep!.id);
        expect(detail?.show.slug).toBe('ada-talks');
        expect(detail?.media?.mime).toBe('audio/mpeg');
        expect((await popularShows(db, 5)).map((s) => s.slug)).toEqual(['ada-talks']);
      });

      it('an admin takes an episode down: hidden, not seeded, not publishable, the record kept; reinstating lifts it', async () => {
        const up = await storeUpload(ctx, ada, createReadStream(join(demo, 'swarm.mp3')), {});
        if (!up.ok) throw new Error(up.message);
        clock.advance(1000);
        const pub = await publishEpisode(ctx, ada, {
          showSlug: 'ada-talks',
          uploadId: up.value.id,
          title: 'Moths of the night',
          description: 'To be taken down',
        });
        if (!pub.ok) throw new Error(pub.message);
        const id = pub.value.id;
        // The web layer makes the torrent; here a stand-in row is enough for the seeders' list.
        await db.query(
          `insert into catalog_torrents (episode_id, info_hash_v1, magnet, torrent) values ($1, $2, 'magnet:?', $3)`,
          [id, 'ab'.repeat(20), new Uint8Array([1])],
        );
        clock.advance(1000);
        const live = async () => (await latestEpisodes(db, 50, clock.now())).some((e) => e.id === id);
        expect(await live()).toBe(true);
        expect((await seedableEpisodes(db)).some((e) => e.episodeId === id)).toBe(true);
        const made = await createAccount(db, {
          email: 'root@example.org',
          name: 'Root',
          password: 'correct horse battery',
          role: 'admin',
        });
        if (!made.ok) throw new Error(made.message);
        const root = made.value;
        const notAdmin = await takeDownEpisode(ctx, ada, id, 'mine anyway');
        expect(!notAdmin.ok && notAdmin.code).toBe('CAT_FORBIDDEN');
        const noReason = await takeDownEpisode(ctx, root, id, '   ');
        expect(!noReason.ok && noReason.code).toBe('CAT_BAD_INPUT');
        const down = await takeDownEpisode(ctx, root, id, 'Copyright claim by the label');
        expect(down.ok && down.value).toMatchObject({
          episodeId: id,
          title: 'Moths of the night',
          showSlug: 'ada-talks',
          reason: 'Copyright claim by the label',
          by: 'root@example.org',
          mediaPath: pub.value.media!.path,
        });
        expect(await live()).toBe(false);
        expect((await search(db, 'moths')).some((h) => h.kind === 'episode')).toBe(false);
        expect((await seedableEpisodes(db)).some((e) => e.episodeId === id)).toBe(false);
        expect(await isTakenDown(db, id)).toBe(true);
        // Its creator cannot publish it again.
        const again = await scheduleEpisode(ctx, ada, id, { draft: false });
        expect(!again.ok && again.code).toBe('CAT_FORBIDDEN');
        expect(await live()).toBe(false);
        // The record: the row, the file and who took it down, why and when.
        expect((await getEpisode(db, id))?.title).toBe('Moths of the night');
        // Its creator's dashboard says why, not just "draft".
        expect((await getEpisode(db, id))?.takenDown).toBe(true);
        expect((await stat(join(ctx.mediaDir, pub.value.media!.path))).size).toBeGreaterThan(0);
        expect((await takenDownEpisodes(db)).map((t) => [t.episodeId, t.at.getTime()])).toEqual([
          [id, clock.now()],
        ]);
        // Reinstated: no longer blocked, still a draft until its creator publishes it.
        expect((await reinstateEpisode(db, ada, id)).ok).toBe(false);
        expect((await reinstateEpisode(db, root, id)).ok).toBe(true);
        expect(await takenDownEpisodes(db)).toEqual([]);
        expect(await live()).toBe(false);
        expect((await seedableEpisodes(db)).some((e) => e.episodeId === id)).toBe(true);
        expect((await scheduleEpisode(ctx, ada, id, { draft: false })).ok).toBe(true);
        expect(await live()).toBe(true);
      });
    });
  });
}

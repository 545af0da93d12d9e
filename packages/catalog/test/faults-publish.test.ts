import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Db, ManualClock } from '@swarmcast/platform';
import { scratchDir } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Account,
  type CatalogContext,
  createAccount,
  createShow,
  demoMediaDir,
  episodesOfShow,
  getShow,
  makeHybridTorrent,
  publishEpisode,
  recoverPublishing,
  seedDemo,
  storeUpload,
} from '../src/index.ts';
import { engines } from './engines.ts';

/**
 * kill -9 at each step of publishing (issue 14). Each case leaves the data dir and database
 * exactly as a process killed at that step leaves them (the steps are separate awaits, so
 * nothing else can be on disk), then runs what a restart runs (`recoverPublishing`, the
 * demo) and checks what is served, what survived and what was lost. A file is served only if
 * the media folder holds it: so the media folder must hold exactly the committed episodes.
 */
const all = await engines('publish fault injection');

async function filesUnder(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true })).map(String).sort();
  } catch {
    return [];
  }
}

for (const engine of all.filter((e) => e.name === 'pglite')) {
  describe(`kill -9 during publish (${engine.name})`, () => {
    let db: Db;
    let ctx: CatalogContext;
    let dir: Awaited<ReturnType<typeof scratchDir>>;
    let ada: Account;
    const logged: string[] = [];

    beforeAll(async () => {
      db = await engine.open();
      dir = await scratchDir('faults-publish-');
      ctx = {
        db,
        clock: new ManualClock(Date.UTC(2026, 11, 7)),
        mediaDir: join(dir.path, 'media'),
        uploadsDir: join(dir.path, 'uploads'),
        maxUploadBytes: 5_000_000,
        mediaUrl: (p) => `http://node.test/media/${p}`,
        publicUrl: () => 'http://node.test',
        trackers: () => ['http://node.test/announce'],
        torrents: { make: makeHybridTorrent },
        log: (m) => logged.push(m),
      };
      const a = await createAccount(db, {
        email: 'ada@example.org',
        name: 'Ada',
        password: 'correct horse battery',
      });
      if (!a.ok) throw new Error(a.message);
      ada = a.value;
      const show = await createShow(db, ada, { slug: 'ada-talks', title: 'Ada talks' });
      if (!show.ok) throw new Error(show.message);
    });
    afterAll(async () => {
      await engine.teardown();
      await dir?.remove();
    });

    const upload = async () => {
      const up = await storeUpload(ctx, ada, createReadStream(join(demoMediaDir, 'swarm.mp3')), {
        originalName: 'swarm.mp3',
      });
      if (!up.ok) throw new Error(up.message);
      return up.value;
    };
    const episodes = async () => episodesOfShow(db, (await getShow(db, 'ada-talks'))!.id);
    const report = (step: string, sent: string, survived: string, lost: string) =>
      console.log(`[fault kill-9 publish: ${step}] sent ${sent}; survived ${survived}; lost ${lost}`);

    it('killed while receiving: the .part file is swept at the next start', async () => {
      await mkdir(ctx.uploadsDir, { recursive: true });
      await writeFile(join(ctx.uploadsDir, 'cut-short.part'), Buffer.alloc(1000, 1));
      const r = await recoverPublishing(ctx);
      expect(r.swept).toBeGreaterThanOrEqual(1);
      expect(await filesUnder(ctx.uploadsDir)).toEqual([]);
      report('receiving', '1000 bytes', 'nothing (upload never acknowledged)', 'nothing acknowledged');
    });

    it('killed before the commit (torrent being made): nothing is served, the retry publishes', async () => {
      const up = await upload();
      // The process died here: no episode row, the file still in uploads, nothing in media.
      expect(await filesUnder(ctx.mediaDir)).toEqual([]);
      await recoverPublishing(ctx);
      expect(await filesUnder(ctx.mediaDir)).toEqual([]);
      const pub = await publishEpisode(ctx, ada, {
        showSlug: 'ada-talks',
        uploadId: up.id,
        title: 'Retried',
      });
      expect(pub.ok).toBe(true);
      const media = await filesUnder(ctx.mediaDir);
      expect(media.filter((f) => f.endsWith('.mp3'))).toHaveLength(1);
      expect(await filesUnder(ctx.uploadsDir)).toEqual([]);
      // A retry of the same upload after it was published is a 404, never a 500 with a path.
      const again = await publishEpisode(ctx, ada, {
        showSlug: 'ada-talks',
        uploadId: up.id,
        title: 'Again',
      });
      expect(!again.ok && [again.status, again.code]).toEqual([404, 'CAT_NOT_FOUND']);
      expect(!again.ok && again.message).not.toMatch(/\//);
      report('before commit', '1 upload', '1 episode after retry', 'nothing');
    });

    it('killed after the commit, before the file moved: the next start moves it in', async () => {
      const before = (await episodes()).length;
      const up = await upload();
      const pub = await publishEpisode(ctx, ada, {
        showSlug: 'ada-talks',
        uploadId: up.id,
        title: 'Moved later',
      });
      expect(pub.ok).toBe(true);
      if (!pub.ok) return;
      // Put the state back to "committed, file not moved yet": file in uploads, row claimed.
      const rel = pub.value.media!.path;
      const uploadPath = join(ctx.uploadsDir, `${up.id}.part`);
      await copyFile(join(ctx.mediaDir, rel), uploadPath);
      await rm(join(ctx.mediaDir, rel));
      await db.query(
        'insert into catalog_uploads (id, account_id, original_name, path, size, probe, episode_id) values ($1, $2, $3, $4, $5, $6, $7)',
        [up.id, ada.id, 'swarm.mp3', uploadPath, up.size, JSON.stringify(up.probe), pub.value.id],
      );
      expect(await filesUnder(ctx.mediaDir)).not.toContain(rel);
      const r = await recoverPublishing(ctx);
      expect(r.finished).toBe(1);
      expect((await stat(join(ctx.mediaDir, rel))).size).toBe(up.size);
      expect(await filesUnder(ctx.uploadsDir)).toEqual([]);
      expect((await episodes()).length).toBe(before + 1);
      report('after commit', '1 upload', '1 episode, file moved at restart', 'nothing');
    });

    it('killed after the move, before the upload row was dropped: the row is dropped, the file stays', async () => {
      const up = await upload();
      const pub = await publishEpisode(ctx, ada, {
        showSlug: 'ada-talks',
        uploadId: up.id,
        title: 'Almost done',
      });
      if (!pub.ok) throw new Error(pub.message);
      await db.query(
        'insert into catalog_uploads (id, account_id, original_name, path, size, probe, episode_id) values ($1, $2, $3, $4, $5, $6, $7)',
        [
          up.id,
          ada.id,
          'swarm.mp3',
          join(ctx.uploadsDir, `${up.id}.part`),
          up.size,
          JSON.stringify(up.probe),
          pub.value.id,
        ],
      );
      await recoverPublishing(ctx);
      expect((await db.query('select * from catalog_uploads where id = $1', [up.id])).rows).toEqual([]);
      expect((await stat(join(ctx.mediaDir, pub.value.media!.path))).size).toBe(up.size);
      report('after move', '1 upload', '1 episode', 'nothing');
    });

    it('killed during the first-start demo: the next start completes it', async () => {
      // The demo dies on its second episode (as a kill -9 there leaves it: one episode in).
      let made = 0;
      const dying: CatalogContext = {
        ...ctx,
        torrents: {
          make: async (f, o) => {
            if (++made === 2) throw new Error('killed');
            return makeHybridTorrent(f, o);
          },
        },
      };
      await expect(seedDemo(dying)).rejects.toThrow();
      const show = await getShow(db, 'swarmcast-demo');
      expect(show).not.toBeNull();
      const partial = await episodesOfShow(db, show!.id);
      expect(partial.length).toBe(1);
      expect(await seedDemo(ctx)).toBe(2);
      expect((await episodesOfShow(db, show!.id)).length).toBe(3);
      // A third start publishes nothing more.
      expect(await seedDemo(ctx)).toBe(0);
      report('demo', '3 demo episodes', '3 of 3 after the next start', 'nothing');
    });
  });
}

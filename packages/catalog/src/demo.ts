import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Account, createAccount } from './accounts.ts';
import { setShowArtwork } from './artwork.ts';
import type { CatalogContext } from './context.ts';
import { episodesOfShow } from './episodes.ts';
import type { Result } from './errors.ts';
import { publishEpisode, storeUpload } from './publish.ts';
import { createShow, getShow } from './shows.ts';

/** The demo media shipped with the code (see demo-media/make.sh), so start needs no ffmpeg. */
export const demoMediaDir = join(import.meta.dirname, '..', 'demo-media');

const demoShow = {
  slug: 'swarmcast-demo',
  title: 'The Swarmcast Demo',
  description:
    'Three short episodes that come with every Swarmcast node: how publishing, the swarm and ad breaks work. Audio and video, on BitTorrent and plain HTTP.',
  categories: ['technology'],
  language: 'en',
};

const demoEpisodes = [
  {
    file: 'swarm.mp3',
    title: 'How the swarm works',
    description: 'Listeners share the pieces they have.',
    adBreaks: [{ position: 'pre' as const }],
  },
  {
    file: 'video.mp4',
    title: 'A short video episode',
    description: 'Video works the same way as audio.',
    adBreaks: [],
  },
  {
    file: 'welcome.mp3',
    title: 'Welcome to Swarmcast',
    description: 'What Swarmcast is, in two chapters, with an ad break between them.',
    adBreaks: [
      { position: 'pre' as const },
      { position: 'mid' as const, chapter: 1 },
      { position: 'post' as const },
    ],
  },
];

/**
 * Publishes the demo show on a node's first start (when no show has its slug), through the
 * same pipeline as any creator's upload. The demo account gets a random password nobody
 * knows; it exists only to own the show. A start cut short (kill -9 mid-demo) is completed
 * at the next start: whichever demo episodes are missing are published then. Returns the
 * number of episodes published by this call.
 */
export async function seedDemo(ctx: CatalogContext): Promise<number> {
  // Several processes starting together on one PostgreSQL all run this: each checks, then
  // creates, so without the lock two of them made the show and the loser died ("a show called
  // swarmcast-demo already exists"), or both published the same episode. One at a time, the
  // later ones find everything made and do nothing. The transaction only holds the
  // (transaction-scoped) lock; the work commits step by step on other connections, so a
  // process killed half-way leaves what it finished, for the next start to complete. PGlite
  // has one process per data dir (PLT_DB_LOCKED) and one connection: no lock needed there.
  if (ctx.db.engine !== 'postgres') return seedDemoOnce(ctx);
  return ctx.db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [DEMO_LOCK_KEY]);
    return seedDemoOnce(ctx);
  });
}

/** Advisory lock id of the demo seeding ("SWD1"; migrations use "SWM1"). */
const DEMO_LOCK_KEY = 0x53574431;

async function seedDemoOnce(ctx: CatalogContext): Promise<number> {
  const existing = await getShow(ctx.db, demoShow.slug);
  const found = await ctx.db.query<{ id: string; email: string; name: string }>(
    `select id, email, name from catalog_accounts where email = 'demo@swarmcast.invalid'`,
  );
  let account: Result<Account>;
  if (found.rows[0]) account = { ok: true, value: { ...found.rows[0], role: 'creator' } };
  else {
    account = await createAccount(ctx.db, {
      email: 'demo@swarmcast.invalid',
      name: 'Swarmcast',
      password: randomBytes(24).toString('base64url'),
    });
    if (!account.ok) throw new Error(`demo account: ${account.message}`);
  }
  // Someone else's show under the demo's slug: leave it alone.
  if (existing && existing.ownerId !== account.value.id) return 0;
  let show = existing;
  if (!show) {
    const made = await createShow(ctx.db, account.value, demoShow);
    if (!made.ok) throw new Error(`demo show: ${made.message}`);
    show = await getShow(ctx.db, demoShow.slug);
    if (!show) throw new Error('demo show: not found after creating it');
  }
  if (!show.artwork) {
    const art = await setShowArtwork(
      ctx,
      account.value,
      demoShow.slug,
      await readFile(join(demoMediaDir, 'artwork.png')),
    );
    if (!art.ok) throw new Error(`demo artwork: ${art.message}`);
  }
  const have = new Set((await episodesOfShow(ctx.db, show.id)).map((e) => e.title));
  let n = 0;
  for (const e of demoEpisodes) {
    if (have.has(e.title)) continue;
    const path = join(demoMediaDir, e.file);
    const up = await storeUpload(ctx, account.value, createReadStream(path), {
      originalName: e.file,
      declaredBytes: (await stat(path)).size,
    });
    if (!up.ok) throw new Error(`demo upload ${e.file}: ${up.message}`);
    const pub = await publishEpisode(ctx, account.value, {
      showSlug: demoShow.slug,
      uploadId: up.value.id,
      title: e.title,
      description: e.description,
      adBreaks: e.adBreaks,
    });
    if (!pub.ok) throw new Error(`demo episode ${e.file}: ${pub.message}`);
    n++;
  }
  return n;
}

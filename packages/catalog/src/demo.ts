import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createAccount } from './accounts.ts';
import { setShowArtwork } from './artwork.ts';
import type { CatalogContext } from './context.ts';
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
 * knows; it exists only to own the show. Returns the number of episodes published.
 */
export async function seedDemo(ctx: CatalogContext): Promise<number> {
  if (await getShow(ctx.db, demoShow.slug)) return 0;
  let account = await createAccount(ctx.db, {
    email: 'demo@swarmcast.invalid',
    name: 'Swarmcast',
    password: randomBytes(24).toString('base64url'),
  });
  if (!account.ok) {
    const r = await ctx.db.query<{ id: string; email: string; name: string }>(
      `select id, email, name from catalog_accounts where email = 'demo@swarmcast.invalid'`,
    );
    if (!r.rows[0]) throw new Error(`demo account: ${account.message}`);
    account = { ok: true, value: { ...r.rows[0], role: 'creator' } };
  }
  const show = await createShow(ctx.db, account.value, demoShow);
  if (!show.ok) throw new Error(`demo show: ${show.message}`);
  const art = await setShowArtwork(
    ctx,
    account.value,
    demoShow.slug,
    await readFile(join(demoMediaDir, 'artwork.png')),
  );
  if (!art.ok) throw new Error(`demo artwork: ${art.message}`);
  let n = 0;
  for (const e of demoEpisodes) {
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

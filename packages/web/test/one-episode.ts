import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import {
  type CatalogContext,
  createAccount,
  createShow,
  demoMediaDir,
  publishEpisode,
  storeUpload,
} from '@swarmcast/catalog';
import type { Clock, Db } from '@swarmcast/platform';

/**
 * A catalog over `db` (migrated) with its files under `dir`: one account, one show `slug`
 * and one published episode of the demo MP3. For the page-views test and bench.
 */
export async function oneEpisodeCatalog(
  db: Db,
  dir: string,
  clock: Clock,
  names: { slug: string; show: string; episode: string },
): Promise<{ catalog: CatalogContext; episodeId: string }> {
  const catalog: CatalogContext = {
    db,
    clock,
    mediaDir: join(dir, 'media'),
    uploadsDir: join(dir, 'uploads'),
    maxUploadBytes: 10_000_000,
    mediaUrl: (p) => `http://node.test/media/${p}`,
    publicUrl: () => 'http://node.test',
    trackers: () => [],
    torrents: null,
  };
  const ada = await createAccount(db, { email: 'ada@example.org', name: 'Ada', password: 'a long password' });
  if (!ada.ok) throw new Error(ada.message);
  const show = await createShow(db, ada.value, { slug: names.slug, title: names.show });
  if (!show.ok) throw new Error(show.message);
  const up = await storeUpload(catalog, ada.value, createReadStream(join(demoMediaDir, 'swarm.mp3')), {});
  if (!up.ok) throw new Error(up.message);
  const ep = await publishEpisode(catalog, ada.value, {
    showSlug: names.slug,
    uploadId: up.value.id,
    title: names.episode,
  });
  if (!ep.ok) throw new Error(ep.message);
  return { catalog, episodeId: ep.value.id };
}

import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Account } from '../accounts.ts';
import type { Chapter } from '../ad-break-rules.ts';
import { maxArtworkBytes, setEpisodeArtwork, setShowArtwork } from '../artwork.ts';
import type { CatalogContext } from '../context.ts';
import { updateFeedSettings } from '../edit.ts';
import { fail, ok, type Result } from '../errors.ts';
import { adoptUpload, publishEpisode } from '../publish.ts';
import { createShow, getShow, type Show } from '../shows.ts';
import { slugify } from '../slug.ts';
import { maxTranscriptBytes } from '../transcripts/parse-transcript.ts';
import { setTranscript } from '../transcripts/transcripts.ts';
import { parseChaptersJson } from './chapters-json.ts';
import { fetchBytes, fetchToFile } from './fetch-file.ts';
import { type FeedEpisode, maxFeedBytes, type ParsedFeed, parseFeed } from './parse-feed.ts';

export type ImportSource = { url: string } | { xml: string };

export interface ImportOptions {
  /** The show's address here (default: from the feed's title). A re-run reuses the show. */
  slug?: string;
  /** Enclosures fetched at once: 1 (default) or 2, to be polite to the old host. */
  concurrency?: number;
  /** A request with no byte for this long is abandoned (default 30 s). */
  idleTimeoutMs?: number;
  onEvent?: (e: ImportEvent) => void;
  signal?: AbortSignal;
}

export type ImportEvent =
  | { kind: 'show'; show: Show; episodes: number; alreadyHere: number }
  | { kind: 'progress'; guid: string; title: string; bytes: number; total: number | null }
  | {
      kind: 'episode';
      guid: string;
      title: string;
      state: 'done' | 'failed';
      error?: string;
      episodeId?: string;
    };

export interface ImportReport {
  show: Show;
  imported: Array<{ guid: string; title: string; episodeId: string; warnings: string[] }>;
  failed: Array<{ guid: string; title: string; error: string }>;
  /** Episodes already on this node from an earlier run: not fetched again. */
  alreadyHere: number;
  skipped: ParsedFeed['skipped'];
  warnings: string[];
}

const smallFile = 2 * 1024 * 1024;

/**
 * Moves a show in from its RSS feed: creates the show (or finds it again on a re-run),
 * then fetches, publishes and seeds every episode not yet here, oldest first, keeping each
 * GUID and date. Fetching is polite (one or two at a time, idle timeouts, the node's size
 * limit) and resumable (part files). A failed episode is recorded with its error and tried
 * again by the next run; one episode's failure never stops the others.
 */
export async function importFeed(
  ctx: CatalogContext,
  who: Account,
  source: ImportSource,
  o: ImportOptions = {},
): Promise<Result<ImportReport>> {
  if (who.role !== 'creator' && who.role !== 'admin')
    return fail('CAT_FORBIDDEN', 'only creator accounts import shows');
  const limits = { idleTimeoutMs: o.idleTimeoutMs ?? 30_000, ...(o.signal ? { signal: o.signal } : {}) };
  let xml: string;
  if ('url' in source) {
    if (!/^https?:\/\//i.test(source.url)) return fail('CAT_BAD_INPUT', 'url: an http or https feed URL');
    const got = await fetchBytes(source.url, { ...limits, maxBytes: maxFeedBytes });
    if (!got.ok) return got;
    xml = got.value.bytes.toString('utf8');
  } else xml = source.xml;
  const feed = parseFeed(xml);
  if (!feed.ok) return feed;
  const f = feed.value;
  // podcast:locked: the owner asked hosts not to import without proof of ownership; the
  // proof we can check is that the importing account has the feed's owner e-mail.
  if (f.lockedTo !== null && f.lockedTo !== who.email.toLowerCase()) {
    return fail(
      'CAT_FEED_LOCKED',
      'this feed is locked (podcast:locked); import it with the account of its owner e-mail',
    );
  }
  const slug = o.slug ?? slugify(f.title);
  let show = await getShow(ctx.db, slug);
  if (show && show.ownerId !== who.id && who.role !== 'admin') {
    return fail('CAT_SLUG_TAKEN', `a show called "${slug}" already exists; choose another address`);
  }
  const warnings: string[] = [];
  if (!show) {
    const created = await createShow(ctx.db, who, {
      slug,
      title: f.title,
      description: f.description,
      author: f.author,
      language: f.language,
      categories: f.categories,
      explicit: f.explicit,
    });
    if (!created.ok) return created;
    const withSettings = await updateFeedSettings(ctx, who, slug, f.settings);
    show = withSettings.ok ? withSettings.value : created.value;
    if (f.artworkUrl) {
      const art = await fetchBytes(f.artworkUrl, { ...limits, maxBytes: maxArtworkBytes });
      const set = art.ok ? await setShowArtwork(ctx, who, slug, art.value.bytes) : art;
      if (set.ok) show = set.value;
      else warnings.push(`show artwork: ${set.message}`);
    }
  }
  const theShow = show;
  const here = await ctx.db.query<{ guid: string }>('select guid from catalog_episodes where show_id = $1', [
    theShow.id,
  ]);
  const have = new Set(here.rows.map((r) => r.guid));
  const todo = f.episodes
    .filter((e) => !have.has(e.guid))
    .sort((a, b) => a.publishedAt.getTime() - b.publishedAt.getTime());
  o.onEvent?.({
    kind: 'show',
    show: theShow,
    episodes: todo.length,
    alreadyHere: f.episodes.length - todo.length,
  });

  const report: ImportReport = {
    show: theShow,
    imported: [],
    failed: [],
    alreadyHere: f.episodes.length - todo.length,
    skipped: f.skipped,
    warnings,
  };
  const queue = [...todo];
  const worker = async () => {
    for (let e = queue.shift(); e; e = queue.shift()) {
      if (o.signal?.aborted) break;
      const r = await importEpisode(ctx, who, theShow, e, limits, o.onEvent);
      if (r.ok)
        report.imported.push({
          guid: e.guid,
          title: e.title,
          episodeId: r.value.id,
          warnings: r.value.warnings,
        });
      else report.failed.push({ guid: e.guid, title: e.title, error: r.message });
      await ctx.db.query(
        `insert into catalog_import_items (show_id, guid, title, state, error, attempts, updated_at) values ($1, $2, $3, $4, $5, 1, now())
         on conflict (show_id, guid) do update set title = $3, state = $4, error = $5,
           attempts = catalog_import_items.attempts + 1, updated_at = now()`,
        [theShow.id, e.guid, e.title, r.ok ? 'done' : 'failed', r.ok ? null : r.message],
      );
      o.onEvent?.(
        r.ok
          ? { kind: 'episode', guid: e.guid, title: e.title, state: 'done', episodeId: r.value.id }
          : { kind: 'episode', guid: e.guid, title: e.title, state: 'failed', error: r.message },
      );
    }
  };
  const n = Math.min(2, Math.max(1, Math.floor(o.concurrency ?? 1)));
  await Promise.all(Array.from({ length: n }, worker));
  return ok({ ...report, show: (await getShow(ctx.db, theShow.slug)) ?? theShow });
}

async function importEpisode(
  ctx: CatalogContext,
  who: Account,
  show: Show,
  e: FeedEpisode,
  limits: { idleTimeoutMs: number; signal?: AbortSignal },
  onEvent: ImportOptions['onEvent'],
): Promise<Result<{ id: string; warnings: string[] }>> {
  const taken = await ctx.db.query('select 1 from catalog_episodes where guid = $1', [e.guid]);
  if (taken.rows.length > 0)
    return fail('CAT_BAD_INPUT', `GUID ${e.guid} is already used by another show on this node`);
  if (e.enclosure.length !== null && e.enclosure.length > ctx.maxUploadBytes) {
    return fail(
      'CAT_FETCH_FAILED',
      `the enclosure is ${e.enclosure.length} bytes, more than this node accepts (${ctx.maxUploadBytes})`,
    );
  }
  await mkdir(ctx.uploadsDir, { recursive: true });
  // One stable name per (show, GUID): a re-run finds the part file and resumes it.
  const key = createHash('sha256').update(`${show.id}\n${e.guid}`).digest('hex').slice(0, 32);
  const path = join(ctx.uploadsDir, `import-${key}`);
  const got = await fetchToFile(e.enclosure.url, path, { ...limits, maxBytes: ctx.maxUploadBytes }, (p) =>
    onEvent?.({ kind: 'progress', guid: e.guid, title: e.title, bytes: p.bytes, total: p.total }),
  );
  if (!got.ok) return got;
  const upload = await adoptUpload(
    ctx,
    who,
    path,
    got.value.size,
    e.enclosure.url.split('/').pop() ?? 'episode',
  );
  if (!upload.ok) return upload;
  const warnings: string[] = [];
  let chapters: Chapter[] | undefined;
  if (e.chaptersUrl) {
    const c = await fetchBytes(e.chaptersUrl, { ...limits, maxBytes: smallFile });
    const parsed = c.ok ? parseChaptersJson(c.value.bytes.toString('utf8')) : c;
    if (parsed.ok) chapters = parsed.value.filter((ch) => ch.startMs < upload.value.probe.durationMs);
    else warnings.push(`chapters: ${parsed.message}`);
  }
  const published = await publishEpisode(ctx, who, {
    showSlug: show.slug,
    uploadId: upload.value.id,
    title: e.title,
    description: e.description,
    guid: e.guid,
    publishedAt: e.publishedAt,
    notesHtml: e.notesHtml,
    features: {
      season: e.season,
      episodeNumber: e.episodeNumber,
      episodeType: e.episodeType,
      explicit: e.explicit,
      persons: e.persons,
    },
    ...(chapters ? { chapters } : {}),
  });
  if (!published.ok) return published;
  if (e.artworkUrl) {
    const art = await fetchBytes(e.artworkUrl, { ...limits, maxBytes: maxArtworkBytes });
    const set = art.ok ? await setEpisodeArtwork(ctx, who, published.value.id, art.value.bytes) : art;
    if (!set.ok) warnings.push(`artwork: ${set.message}`);
  }
  // One transcript per language (the first listed: hosts often list the same text as VTT,
  // SRT and HTML; HTML is not a transcript format we take).
  const languages = new Set<string>();
  for (const t of e.transcripts) {
    const language = t.language ?? show.language;
    if (languages.has(language) || /html/i.test(t.type)) continue;
    const got = await fetchBytes(t.url, { ...limits, maxBytes: maxTranscriptBytes });
    const set = got.ok ? await setTranscript(ctx, who, published.value.id, got.value.bytes, language) : got;
    if (set.ok) languages.add(language);
    else warnings.push(`transcript ${t.url}: ${set.message}`);
  }
  return ok({ id: published.value.id, warnings });
}

/** The per-episode outcomes of a show's imports (the dashboard's list; failures first). */
export async function importItems(
  ctx: Pick<CatalogContext, 'db'>,
  show: Show,
): Promise<
  Array<{ guid: string; title: string; state: 'done' | 'failed'; error: string | null; attempts: number }>
> {
  const r = await ctx.db.query<{
    guid: string;
    title: string;
    state: 'done' | 'failed';
    error: string | null;
    attempts: number;
  }>(
    `select guid, title, state, error, attempts from catalog_import_items where show_id = $1
     order by state = 'done', updated_at desc limit 1000`,
    [show.id],
  );
  return r.rows;
}

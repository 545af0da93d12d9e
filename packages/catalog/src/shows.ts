import { randomUUID } from 'node:crypto';
import type { Queryable } from '@swarmcast/platform';
import type { Account } from './accounts.ts';
import { fail, ok, type Result } from './errors.ts';
import type { FeedSettings } from './feed/settings.ts';
import { cleanText, isSlug } from './slug.ts';

export interface Show {
  id: string;
  slug: string;
  ownerId: string;
  title: string;
  description: string;
  author: string;
  language: string;
  categories: string[];
  explicit: boolean;
  createdAt: Date;
  /** Media path ("<slug>/artwork-....png") of the show's artwork, or null. */
  artwork: string | null;
  /** Owner e-mail, podcast:person/location/funding/license, lock and move (feed/settings.ts). */
  settings: FeedSettings;
  /** An admin took the whole show down (takedown.ts): hidden from everyone but its owner and admins. */
  takenDown?: { at: Date; reason: string } | null;
}

export interface ShowInput {
  slug: string;
  title: string;
  description?: string;
  author?: string;
  language?: string;
  categories?: string[];
  explicit?: boolean;
}

const languagePattern = /^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/;

export const showColumns = `s.id, s.slug, s.owner_id as "ownerId", s.title, s.description, s.author, s.language,
  s.categories, s.explicit, s.created_at as "createdAt", s.artwork, s.settings,
  case when s.taken_down_at is null then null
    else json_build_object('at', s.taken_down_at, 'reason', s.taken_down_reason) end as "takenDown"`;

/** The JSON of a takedown carries its time as text: make it a Date again. */
export function showRow<T extends Show>(row: T): T {
  const t = row.takenDown as { at: Date | string; reason: string } | null;
  return t ? { ...row, takenDown: { at: new Date(t.at), reason: t.reason } } : { ...row, takenDown: null };
}

/** Checks a show's fields; a pure function. */
export function validateShow(input: ShowInput): Result<Required<ShowInput>> {
  const title = cleanText(input.title);
  const description = cleanText(input.description);
  if (!isSlug(input.slug)) return fail('CAT_BAD_INPUT', 'slug: lower-case letters, digits and dashes, 1-64');
  if (title.length < 1 || title.length > 200) return fail('CAT_BAD_INPUT', 'title: 1 to 200 characters');
  if (description.length > 4000) return fail('CAT_BAD_INPUT', 'description: at most 4000 characters');
  const language = String(input.language ?? 'en');
  if (!languagePattern.test(language))
    return fail('CAT_BAD_INPUT', 'language: a BCP 47 tag such as en or de-CH');
  const categories = (Array.isArray(input.categories) ? input.categories : [])
    .map((c) => cleanText(c).toLowerCase())
    .filter(Boolean);
  if (categories.length > 5 || categories.some((c) => c.length > 60)) {
    return fail('CAT_BAD_INPUT', 'categories: at most 5, each at most 60 characters');
  }
  const author = cleanText(input.author);
  if (author.length > 200) return fail('CAT_BAD_INPUT', 'author: at most 200 characters');
  return ok({
    slug: input.slug,
    title,
    description,
    author,
    language,
    categories,
    explicit: !!input.explicit,
  });
}

export async function createShow(db: Queryable, owner: Account, input: ShowInput): Promise<Result<Show>> {
  if (owner.role !== 'creator' && owner.role !== 'admin') {
    return fail('CAT_FORBIDDEN', 'only creator accounts publish shows');
  }
  const v = validateShow(input);
  if (!v.ok) return v;
  const s = v.value;
  const id = randomUUID();
  const r = await db.query(
    `insert into catalog_shows (id, slug, owner_id, title, description, author, language, categories, explicit)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict (slug) do nothing`,
    [
      id,
      s.slug,
      owner.id,
      s.title,
      s.description,
      s.author || owner.name,
      s.language,
      JSON.stringify(s.categories),
      s.explicit,
    ],
  );
  if (r.affectedRows === 0) return fail('CAT_SLUG_TAKEN', `a show called "${s.slug}" already exists`);
  return ok((await getShow(db, s.slug)) as Show);
}

export async function getShow(db: Queryable, slug: string): Promise<Show | null> {
  if (!isSlug(slug)) return null;
  const r = await db.query<Show>(`select ${showColumns} from catalog_shows s where s.slug = $1`, [slug]);
  return r.rows[0] ? showRow(r.rows[0]) : null;
}

export async function getShowById(db: Queryable, id: string): Promise<Show | null> {
  const r = await db.query<Show>(`select ${showColumns} from catalog_shows s where s.id = $1`, [String(id)]);
  return r.rows[0] ? showRow(r.rows[0]) : null;
}

/** The show, if this account may change it: its owner, or an admin. */
export async function showForEditing(db: Queryable, who: Account, slug: string): Promise<Result<Show>> {
  const show = await getShow(db, slug);
  if (!show) return fail('CAT_NOT_FOUND', `no show "${slug}"`);
  if (show.ownerId !== who.id && who.role !== 'admin') {
    return fail('CAT_FORBIDDEN', 'this show belongs to another creator');
  }
  return ok(show);
}

export async function showsOf(db: Queryable, ownerId: string): Promise<Show[]> {
  const r = await db.query<Show>(
    `select ${showColumns} from catalog_shows s where s.owner_id = $1 order by s.created_at desc`,
    [ownerId],
  );
  return r.rows.map(showRow);
}

/** Shows by total episode views (the portal's "popular"), then newest; taken-down shows left out. */
export async function popularShows(
  db: Queryable,
  limit: number,
  now = Date.now(),
): Promise<Array<Show & { episodes: number }>> {
  const r = await db.query<Show & { episodes: number }>(
    `select ${showColumns}, count(e.id)::int as episodes from catalog_shows s
     join catalog_episodes e on e.show_id = s.id and not e.draft and e.published_at <= $2
     where s.taken_down_at is null
     group by s.id order by coalesce(sum(e.views), 0) desc, max(e.published_at) desc limit $1`,
    [limit, new Date(now)],
  );
  return r.rows.map(showRow);
}

/** Every show not taken down, by title, with its live episode count (the admin's content page). */
export async function publicShows(
  db: Queryable,
  limit: number,
  now = Date.now(),
): Promise<Array<Show & { episodes: number }>> {
  const r = await db.query<Show & { episodes: number }>(
    `select ${showColumns}, count(e.id)::int as episodes from catalog_shows s
     left join catalog_episodes e on e.show_id = s.id and not e.draft and e.published_at <= $2
     where s.taken_down_at is null
     group by s.id order by s.title, s.slug limit $1`,
    [limit, new Date(now)],
  );
  return r.rows.map(showRow);
}

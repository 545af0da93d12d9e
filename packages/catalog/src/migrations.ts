import type { Migration } from '@swarmcast/platform';

/**
 * The catalog's schema. Ids are random text (UUIDs); times are timestamptz; search vectors
 * are generated columns so that they can never drift from the text they index. The
 * 'english' configuration exists in PostgreSQL and in PGlite alike.
 */
export const catalogMigrations: Migration[] = [
  {
    id: 'catalog/0001-accounts',
    sql: `
create table catalog_accounts (
  id text primary key,
  email text not null unique,
  name text not null,
  role text not null check (role in ('creator', 'advertiser', 'admin')),
  password_hash text not null,
  created_at timestamptz not null default now()
);
create table catalog_credentials (
  token_hash text primary key,
  account_id text not null references catalog_accounts(id) on delete cascade,
  kind text not null check (kind in ('web', 'api')),
  label text not null default '',
  created_at timestamptz not null default now(),
  expires_at timestamptz
);
create index catalog_credentials_account on catalog_credentials(account_id);
`,
  },
  {
    id: 'catalog/0002-shows-episodes',
    sql: `
create table catalog_shows (
  id text primary key,
  slug text not null unique,
  owner_id text not null references catalog_accounts(id),
  title text not null,
  description text not null default '',
  author text not null default '',
  language text not null default 'en',
  categories jsonb not null default '[]',
  explicit boolean not null default false,
  created_at timestamptz not null default now(),
  search tsvector generated always as (
    setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', description), 'B')
  ) stored
);
create index catalog_shows_search on catalog_shows using gin(search);
create index catalog_shows_owner on catalog_shows(owner_id);

create table catalog_uploads (
  id text primary key,
  account_id text not null references catalog_accounts(id) on delete cascade,
  original_name text not null,
  path text not null,
  size bigint not null,
  probe jsonb not null,
  created_at timestamptz not null default now()
);

create table catalog_episodes (
  id text primary key,
  show_id text not null references catalog_shows(id) on delete cascade,
  guid text not null unique,
  title text not null,
  description text not null default '',
  published_at timestamptz not null,
  duration_ms integer not null,
  media_kind text not null check (media_kind in ('audio', 'video')),
  ad_breaks jsonb not null default '[]',
  chapters jsonb not null default '[]',
  views integer not null default 0,
  search tsvector generated always as (
    setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', description), 'B')
  ) stored
);
create index catalog_episodes_search on catalog_episodes using gin(search);
create index catalog_episodes_show on catalog_episodes(show_id, published_at desc);
create index catalog_episodes_latest on catalog_episodes(published_at desc);

create table catalog_media (
  episode_id text primary key references catalog_episodes(id) on delete cascade,
  path text not null unique,
  size bigint not null,
  mime text not null,
  container text not null,
  codecs jsonb not null default '[]',
  bitrate integer,
  fast_start boolean
);

create table catalog_torrents (
  episode_id text primary key references catalog_episodes(id) on delete cascade,
  info_hash_v1 text not null,
  info_hash_v2 text,
  magnet text not null,
  torrent bytea not null
);
`,
  },
  {
    id: 'catalog/0003-v1-companion',
    sql: `
alter table catalog_torrents add column v1_info_hash text;
alter table catalog_torrents add column v1_magnet text;
alter table catalog_torrents add column v1_torrent bytea;
`,
  },
  {
    id: 'catalog/0004-show-artwork',
    sql: `alter table catalog_shows add column artwork text;`,
  },
  // Issue 16: feed and episode features (show settings as jsonb: every field optional).
  {
    id: 'catalog/0005-feed-features',
    sql: `
alter table catalog_shows add column settings jsonb not null default '{}';
alter table catalog_episodes add column season integer check (season between 1 and 100000);
alter table catalog_episodes add column episode_number integer check (episode_number between 0 and 1000000);
alter table catalog_episodes add column episode_type text not null default 'full'
  check (episode_type in ('full', 'trailer', 'bonus'));
alter table catalog_episodes add column explicit boolean;
alter table catalog_episodes add column artwork text;
alter table catalog_episodes add column persons jsonb not null default '[]';
`,
  },
  {
    // The creator's DAI switch per show (dai-setting.ts); no row means on.
    id: 'catalog/0006-dai-setting',
    sql: `create table catalog_dai_settings (
  show_id text primary key references catalog_shows(id) on delete cascade,
  dai boolean not null default true
);`,
  },
  // Issue 16: imports (HTML show notes kept; per-episode outcome so a re-run retries failures).
  {
    id: 'catalog/0007-import',
    sql: `
alter table catalog_episodes add column notes_html text;
create table catalog_import_items (
  show_id text not null references catalog_shows(id) on delete cascade,
  guid text not null,
  title text not null,
  state text not null check (state in ('done', 'failed')),
  error text,
  attempts integer not null default 0,
  updated_at timestamptz not null default now(),
  primary key (show_id, guid)
);
`,
  },
  // Issue 16: transcripts (one per episode and language; words indexed for the portal's search).
  {
    id: 'catalog/0008-transcripts',
    sql: `
create table catalog_transcripts (
  episode_id text not null references catalog_episodes(id) on delete cascade,
  language text not null,
  format text not null check (format in ('vtt', 'srt', 'json')),
  path text not null,
  vtt_path text not null,
  text text not null default '',
  search tsvector generated always as (to_tsvector('english', text)) stored,
  primary key (episode_id, language)
);
create index catalog_transcripts_search on catalog_transcripts using gin(search);
`,
  },
  // Issue 17: the portal's search as a PL/pgSQL function. Each ad-hoc run of the query was
  // planned again (about 7 ms of planning for 0.3 ms of execution on PGlite, which runs one
  // query at a time, so 200 concurrent searches queued for seconds); PL/pgSQL keeps the
  // plan of its query for the session. Change the query only with a new migration that
  // replaces the function (search.ts calls it).
  {
    id: 'catalog/0009-search-function',
    sql: `
create or replace function catalog_search(qtext text, lim int)
returns table (kind text, id text, slug text, title text, "showTitle" text, description text, rank double precision)
language plpgsql stable as $body$
declare
  q tsquery := websearch_to_tsquery('english', qtext);
begin
  return query
  select * from (
    select 'show'::text, s.id, s.slug, s.title, s.title, s.description,
           (ts_rank(s.search, q) * 1.2)::double precision
    from catalog_shows s where s.search @@ q
    union all
    select 'episode'::text, e.id, s.slug, e.title, s.title, e.description,
           ts_rank(e.search, q)::double precision
    from catalog_episodes e join catalog_shows s on s.id = e.show_id where e.search @@ q
    union all
    -- Words said in an episode (its transcripts) find it too, ranked below its own text.
    select 'episode'::text, e.id, s.slug, e.title, s.title, e.description,
           (ts_rank(t.search, q) * 0.5)::double precision
    from catalog_transcripts t join catalog_episodes e on e.id = t.episode_id
      join catalog_shows s on s.id = e.show_id where t.search @@ q
  ) hits (kind, id, slug, title, "showTitle", description, rank)
  order by hits.rank desc, hits.title
  limit lim;
end
$body$;
`,
  },
  {
    id: 'catalog/0010-search-prefix',
    sql: `
create or replace function catalog_search(qtext text, lim int, prefix text)
returns table (kind text, id text, slug text, title text, "showTitle" text, description text, rank double precision)
language plpgsql stable as $body$
declare
  -- What people type before finishing a word: the last word as a prefix (built from
  -- letters and digits only by search.ts), or-ed with the query as typed.
  q tsquery := websearch_to_tsquery('english', qtext)
    || (case when prefix = '' then ''::tsquery else to_tsquery('english', prefix) end);
begin
  return query
  select * from (
    select 'show'::text, s.id, s.slug, s.title, s.title, s.description,
           (ts_rank(s.search, q) * 1.2)::double precision
    from catalog_shows s where s.search @@ q
    union all
    select 'episode'::text, e.id, s.slug, e.title, s.title, e.description,
           ts_rank(e.search, q)::double precision
    from catalog_episodes e join catalog_shows s on s.id = e.show_id where e.search @@ q
    union all
    -- Words said in an episode (its transcripts) find it too, ranked below its own text.
    select 'episode'::text, e.id, s.slug, e.title, s.title, e.description,
           (ts_rank(t.search, q) * 0.5)::double precision
    from catalog_transcripts t join catalog_episodes e on e.id = t.episode_id
      join catalog_shows s on s.id = e.show_id where t.search @@ q
  ) hits (kind, id, slug, title, "showTitle", description, rank)
  order by hits.rank desc, hits.title
  limit lim;
end
$body$;
`,
  },
  // Issue 14: a publish cut by kill -9 is finished at the next start. The upload row names
  // the episode it became (set in the publishing transaction) until its file is moved.
  {
    id: 'catalog/0014-upload-episode',
    sql: `alter table catalog_uploads add column episode_id text;`,
  },
  // Issue 16: drafts (scheduled episodes are those whose published_at is still ahead).
  {
    id: 'catalog/0015-drafts',
    sql: `alter table catalog_episodes add column draft boolean not null default false;`,
  },
  // Issue 16: search finds live episodes only (not drafts, not scheduled after `at`): 0010's
  // function with one more argument (a new overload; search.ts calls this one).
  {
    id: 'catalog/0016-search-live',
    sql: `
create or replace function catalog_search(qtext text, lim int, prefix text, at timestamptz)
returns table (kind text, id text, slug text, title text, "showTitle" text, description text, rank double precision)
language plpgsql stable as $body$
declare
  -- What people type before finishing a word: the last word as a prefix (built from
  -- letters and digits only by search.ts), or-ed with the query as typed.
  q tsquery := websearch_to_tsquery('english', qtext)
    || (case when prefix = '' then ''::tsquery else to_tsquery('english', prefix) end);
begin
  return query
  select * from (
    select 'show'::text, s.id, s.slug, s.title, s.title, s.description,
           (ts_rank(s.search, q) * 1.2)::double precision
    from catalog_shows s where s.search @@ q
    union all
    select 'episode'::text, e.id, s.slug, e.title, s.title, e.description,
           ts_rank(e.search, q)::double precision
    from catalog_episodes e join catalog_shows s on s.id = e.show_id
    where e.search @@ q and not e.draft and e.published_at <= at
    union all
    -- Words said in an episode (its transcripts) find it too, ranked below its own text.
    select 'episode'::text, e.id, s.slug, e.title, s.title, e.description,
           (ts_rank(t.search, q) * 0.5)::double precision
    from catalog_transcripts t join catalog_episodes e on e.id = t.episode_id
      join catalog_shows s on s.id = e.show_id
    where t.search @@ q and not e.draft and e.published_at <= at
  ) hits (kind, id, slug, title, "showTitle", description, rank)
  order by hits.rank desc, hits.title
  limit lim;
end
$body$;
`,
  },
  // Issue 16: the node as its own WebSub hub (subscriptions whose intent was verified).
  {
    id: 'catalog/0017-websub',
    sql: `
create table catalog_websub_subscriptions (
  topic text not null,
  callback text not null,
  secret text,
  expires_at timestamptz not null,
  primary key (topic, callback)
);
`,
  },
  // Issue 16: each show's own Ed25519 key for its BEP 46 mutable torrent, and the last
  // sequence number published under it.
  {
    id: 'catalog/0018-show-keys',
    sql: `
create table catalog_show_keys (
  show_id text primary key references catalog_shows(id) on delete cascade,
  public_key bytea not null,
  private_key bytea not null,
  seq bigint not null default 0
);
`,
  },
  // Issue 15: an admin suspends an account (kept, with its content; no log-in, sessions or
  // API tokens while suspended) and may reinstate it.
  {
    id: 'catalog/0019-account-suspension',
    sql: `
alter table catalog_accounts add column suspended_at timestamptz;
`,
  },
  // Issue 15: content takedown by an admin (takedown.ts): hidden and unseeded, record kept.
  {
    id: 'catalog/0020-episode-takedown',
    sql: `
alter table catalog_episodes add column taken_down_at timestamptz;
alter table catalog_episodes add column taken_down_reason text;
alter table catalog_episodes add column taken_down_by text;
`,
  },
  // Issue 15: a whole show taken down by an admin (takedown.ts): the show, its feed and every
  // episode hidden and unseeded, the record kept; each episode keeps its own state, so
  // reinstating the show brings back exactly what was live. Search skips such shows.
  {
    id: 'catalog/0021-show-takedown',
    sql: `
alter table catalog_shows add column taken_down_at timestamptz;
alter table catalog_shows add column taken_down_reason text;
alter table catalog_shows add column taken_down_by text;
create or replace function catalog_search(qtext text, lim int, prefix text, at timestamptz)
returns table (kind text, id text, slug text, title text, "showTitle" text, description text, rank double precision)
language plpgsql stable as $body$
declare
  q tsquery := websearch_to_tsquery('english', qtext)
    || (case when prefix = '' then ''::tsquery else to_tsquery('english', prefix) end);
begin
  return query
  select * from (
    select 'show'::text, s.id, s.slug, s.title, s.title, s.description,
           (ts_rank(s.search, q) * 1.2)::double precision
    from catalog_shows s where s.search @@ q and s.taken_down_at is null
    union all
    select 'episode'::text, e.id, s.slug, e.title, s.title, e.description,
           ts_rank(e.search, q)::double precision
    from catalog_episodes e join catalog_shows s on s.id = e.show_id
    where e.search @@ q and not e.draft and e.published_at <= at and s.taken_down_at is null
    union all
    select 'episode'::text, e.id, s.slug, e.title, s.title, e.description,
           (ts_rank(t.search, q) * 0.5)::double precision
    from catalog_transcripts t join catalog_episodes e on e.id = t.episode_id
      join catalog_shows s on s.id = e.show_id
    where t.search @@ q and not e.draft and e.published_at <= at and s.taken_down_at is null
  ) hits (kind, id, slug, title, "showTitle", description, rank)
  order by hits.rank desc, hits.title
  limit lim;
end
$body$;
`,
  },
  // Issue 17: several searches in one statement (search.ts batches the searches that wait
  // while one runs). On PGlite the round trip into the WASM database, not the search, was
  // most of a search's cost (0.58 ms CPU for one, 0.1 ms each in a batch of 50); each row
  // runs catalog_search (0016, 0021), so the words, ranks and what is live stay in one
  // place.
  // `n` numbers each search's hits in the function's order (rank, then title).
  {
    id: 'catalog/0022-search-batch',
    sql: `
create or replace function catalog_search_batch(qtexts text[], lims int[], prefixes text[], ats float8[])
returns table (i bigint, n bigint, kind text, id text, slug text, title text, "showTitle" text, description text, rank double precision)
language sql stable as $body$
  select b.i, h.n, h.kind, h.id, h.slug, h.title, h."showTitle", h.description, h.rank
  from unnest(qtexts, lims, prefixes, ats) with ordinality as b(qtext, lim, prefix, at, i)
  cross join lateral catalog_search(b.qtext, b.lim, b.prefix, to_timestamp(b.at / 1000.0))
    with ordinality as h(kind, id, slug, title, "showTitle", description, rank, n)
  order by b.i, h.n
$body$;
`,
  },
  // The creator's DAI switch per episode (dai-setting.ts): a row means off for that episode
  // (the show's switch still rules: off for the show is off for every episode).
  {
    id: 'catalog/0023-dai-episode-off',
    sql: `create table catalog_dai_episodes_off (
  episode_id text primary key references catalog_episodes(id) on delete cascade
);`,
  },
  // Issue 19: page views are facts on the event stream, counted into catalog_episodes.views
  // once per event id (page-views.ts). The ids counted, kept 8 days by the view's time.
  {
    id: 'catalog/0024-page-views',
    sql: `create table catalog_page_views (
  id text primary key,
  at bigint not null
);
create index catalog_page_views_at on catalog_page_views(at);`,
  },
];

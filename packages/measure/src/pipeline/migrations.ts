import type { Migration } from '@swarmcast/platform';
import { adDeliveryMigrations } from './deliveries.ts';

/**
 * Measurement tables. No raw IP address or user agent anywhere: only audience keys (daily
 * salted hashes) and client classes. `measure_events` holds the id of every event ever
 * processed, which makes the pipeline idempotent under redelivery, and the reason it was
 * filtered, so invalid traffic is kept and counted, never dropped.
 */
export const measureMigrations: Migration[] = [
  {
    id: 'measure/0001-events-facts-beacons',
    sql: `
CREATE TABLE measure_episodes (
  episode_id text PRIMARY KEY,
  show_id text NOT NULL,
  creator_id text NOT NULL,
  title text NOT NULL DEFAULT '',
  path text NOT NULL UNIQUE,
  info_hash text,
  file_size bigint NOT NULL,
  header_bytes bigint NOT NULL,
  duration_ms bigint NOT NULL
);
CREATE INDEX measure_episodes_hash ON measure_episodes (info_hash);

CREATE TABLE measure_events (
  id text PRIMARY KEY,
  subject text NOT NULL,
  received_at bigint NOT NULL,
  reason text
);
CREATE INDEX measure_events_reason ON measure_events (subject, reason);

CREATE TABLE measure_downloads (
  id text PRIMARY KEY,
  time bigint NOT NULL,
  audience_key text NOT NULL,
  path text NOT NULL,
  fact jsonb NOT NULL
);
CREATE INDEX measure_downloads_path ON measure_downloads (path, time);

CREATE TABLE measure_announces (
  id text PRIMARY KEY,
  time bigint NOT NULL,
  audience_key text NOT NULL,
  info_hash text NOT NULL,
  event text NOT NULL,
  left_bytes bigint NOT NULL,
  fact jsonb NOT NULL
);
CREATE INDEX measure_announces_hash ON measure_announces (info_hash, time);

CREATE TABLE measure_decisions (
  decision_id text PRIMARY KEY,
  campaign_id text NOT NULL,
  line_item_id text NOT NULL,
  advertiser_id text NOT NULL,
  ad_id text NOT NULL,
  creator_id text NOT NULL,
  show_id text NOT NULL,
  episode_id text NOT NULL,
  break_id text NOT NULL,
  cpm_micros bigint NOT NULL,
  creative_duration_ms bigint NOT NULL,
  listener_id text,
  seen jsonb NOT NULL,
  invalid text,
  impression_at bigint
);
CREATE INDEX measure_decisions_campaign ON measure_decisions (campaign_id);

CREATE TABLE measure_ad_events (
  event_id text PRIMARY KEY,
  decision_id text,
  event text NOT NULL,
  reason text,
  received_at bigint NOT NULL,
  audience_key text NOT NULL
);
CREATE INDEX measure_ad_events_decision ON measure_ad_events (decision_id);

CREATE TABLE measure_play_sessions (
  session_id text PRIMARY KEY,
  episode_id text NOT NULL,
  audience_key text NOT NULL,
  listener_id text,
  started_at bigint NOT NULL,
  last_seq integer NOT NULL,
  max_position_ms bigint NOT NULL,
  listened_ms bigint NOT NULL,
  duration_ms bigint NOT NULL,
  completed boolean NOT NULL,
  bytes_from_peers bigint NOT NULL,
  bytes_from_web_seed bigint NOT NULL,
  invalid text
);
CREATE INDEX measure_play_sessions_episode ON measure_play_sessions (episode_id, started_at);

CREATE TABLE measure_play_events (
  event_id text PRIMARY KEY,
  session_id text NOT NULL,
  event text NOT NULL,
  reason text,
  received_at bigint NOT NULL
);

CREATE TABLE measure_rates (
  audience_key text NOT NULL,
  hour bigint NOT NULL,
  n integer NOT NULL,
  PRIMARY KEY (audience_key, hour)
);

CREATE TABLE measure_opportunities (
  id text PRIMARY KEY,
  time bigint NOT NULL,
  episode_id text NOT NULL,
  break_id text NOT NULL,
  slots integer NOT NULL,
  filled integer NOT NULL
);
`,
  },
  {
    // Measured delivery for the ad server (MeasuredDelivery, subject delivery.measured),
    // written in the batch's transaction and published after it commits (a transactional
    // outbox): a crash between the two publishes it later, never loses it. issued_at lets a
    // refund name its decision's reservation day.
    id: 'measure/0002-delivery-outbox',
    sql: `
CREATE TABLE measure_outbox (
  seq bigserial PRIMARY KEY,
  id text NOT NULL UNIQUE,
  subject text NOT NULL,
  data jsonb NOT NULL
);
ALTER TABLE measure_decisions ADD COLUMN issued_at bigint;
`,
  },
  {
    // How each play's page could meet peers (share, relay, off, none): a session that could
    // use peers and got every byte from the web seed is a listener who fell back.
    id: 'measure/0003-play-peer-mode',
    sql: `ALTER TABLE measure_play_sessions ADD COLUMN peer_mode text;`,
  },
  // Server-side ad deliveries (deliveries.ts).
  ...adDeliveryMigrations,
  {
    // Distinct listener ids per audience key and UTC day (rules/ivt.ts listenerIdReason):
    // the bound on ids one key may contribute. Keys change daily, so rows of past days are
    // only kept for the audit; they link to nothing once the day's salt is destroyed.
    id: 'measure/0004-key-listener-ids',
    sql: `
CREATE TABLE measure_key_listeners (
  audience_key text NOT NULL,
  day integer NOT NULL,
  listener_id text NOT NULL,
  PRIMARY KEY (audience_key, day, listener_id)
);
`,
  },
  {
    // Every torrent identity of an episode (the hybrid's v1 info-hash, its truncated v2 hash,
    // the v1-only companion's) maps to the episode's canonical info_hash, so announces on any
    // of them are attributed (process-batch.ts stores them under the canonical hash).
    id: 'measure/0005-episode-hashes',
    sql: `
CREATE TABLE measure_episode_hashes (
  info_hash text PRIMARY KEY,
  episode_id text NOT NULL
);
`,
  },
  {
    // Signed daily statements (statements/store.ts): the node's Ed25519 statement keys (public
    // halves published at /.well-known/swarmcast-statements.json) and each statement as issued.
    id: 'measure/0006-statements',
    sql: `
CREATE TABLE measure_statement_keys (
  key_id text PRIMARY KEY,
  jwk jsonb NOT NULL,
  created_at bigint NOT NULL
);
CREATE TABLE measure_statements (
  kind text NOT NULL CHECK (kind IN ('campaign', 'episode')),
  subject text NOT NULL,
  day integer NOT NULL,
  bundle jsonb NOT NULL,
  PRIMARY KEY (kind, subject, day)
);
`,
  },
  {
    // The statement key's private half leaves the database (statements/store.ts): from here on the
    // node keeps it in SWARMCAST_STATEMENT_KEY or a 0600 file; the public halves stay, so every
    // statement signed before still verifies. A key made here before is thereby retired.
    id: 'measure/0007-statement-keys-public-only',
    sql: `UPDATE measure_statement_keys SET jwk = jwk - 'd' WHERE jwk ->> 'd' IS NOT NULL;`,
  },
  {
    // Supplements (statements/store.ts): entries of a day booked after its statement was issued
    // get a signed supplement, numbered after the day's statement (seq 0).
    id: 'measure/0008-statement-supplements',
    sql: `
ALTER TABLE measure_statements ADD COLUMN seq integer NOT NULL DEFAULT 0;
ALTER TABLE measure_statements DROP CONSTRAINT measure_statements_pkey;
ALTER TABLE measure_statements ADD PRIMARY KEY (kind, subject, day, seq);
`,
  },
  {
    // Plays by app, device class and OS (reports/audience.ts): the collector's client classes of
    // a session's first beacon, never its user agent. Sessions stored before are 'unknown'.
    id: 'measure/0009-play-client-classes',
    sql: `
ALTER TABLE measure_play_sessions ADD COLUMN client_app text;
ALTER TABLE measure_play_sessions ADD COLUMN client_device text;
ALTER TABLE measure_play_sessions ADD COLUMN client_os text;
`,
  },
  {
    // Plays by country (reports/audience.ts): the trusted proxy's country of the session's first
    // beacon, as download facts keep it. Null: unknown.
    id: 'measure/0010-play-country',
    sql: `ALTER TABLE measure_play_sessions ADD COLUMN client_country text;`,
  },
  {
    // Ad beacons held for a predecessor another consumer has not committed yet (rules/ad-hold.ts),
    // kept with their decision's state under its lock; held_until (the earliest hold's end) is
    // what the pipeline's sweep looks for (pipeline/held-beacons.ts).
    id: 'measure/0011-held-ad-beacons',
    sql: `
ALTER TABLE measure_decisions ADD COLUMN held jsonb;
ALTER TABLE measure_decisions ADD COLUMN held_until bigint;
CREATE INDEX measure_decisions_held_until ON measure_decisions (held_until) WHERE held_until IS NOT NULL;
`,
  },
  {
    // Play beacons held for their session's start another consumer has not committed yet
    // (rules/hold.ts). Apart from measure_play_sessions: a session has no row before its start,
    // and reports count its rows. Written under the session's advisory lock; held_until (the
    // earliest hold's end) is what the pipeline's sweep looks for (pipeline/held-beacons.ts).
    id: 'measure/0012-held-play-beacons',
    sql: `
CREATE TABLE measure_play_held (
  session_id text PRIMARY KEY,
  held jsonb NOT NULL,
  held_until bigint NOT NULL
);
CREATE INDEX measure_play_held_until ON measure_play_held (held_until);
`,
  },
  {
    // Play beacons are judged by the seq they claim, not by arrival order (rules/play-sequence.ts):
    // a session keeps the seqs below its highest not seen yet (null: none) and the seq its
    // counters are from (null: last_seq, as every session judged before this).
    id: 'measure/0013-play-seq-gaps',
    sql: `
ALTER TABLE measure_play_sessions ADD COLUMN seq_gaps jsonb;
ALTER TABLE measure_play_sessions ADD COLUMN counters_seq integer;
`,
  },
];

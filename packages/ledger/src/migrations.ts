import type { Migration } from '@swarmcast/platform';

/**
 * The double-entry invariant lives in SQL too, not only in code: a deferred constraint
 * trigger checks at commit that the lines of every touched entry sum to zero, and the
 * journal is append-only (UPDATE and DELETE raise). Amounts are bigint micros.
 */
export const ledgerMigrations: Migration[] = [
  {
    id: 'ledger/0001-accounts-journal',
    sql: `
CREATE TABLE ledger_accounts (
  id text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('advertiser','creator','revenue','platform','payouts','cash'))
);
CREATE TABLE ledger_entries (
  id text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('impression','refund','payout','deposit')),
  ref text NOT NULL,
  time bigint NOT NULL
);
CREATE TABLE ledger_lines (
  entry_id text NOT NULL REFERENCES ledger_entries(id),
  line integer NOT NULL,
  account_id text NOT NULL REFERENCES ledger_accounts(id),
  amount bigint NOT NULL,
  PRIMARY KEY (entry_id, line)
);
CREATE INDEX ledger_lines_account ON ledger_lines (account_id);
CREATE INDEX ledger_entries_time ON ledger_entries (time);

CREATE FUNCTION ledger_check_entry() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE s numeric;
BEGIN
  SELECT coalesce(sum(amount), 0) INTO s FROM ledger_lines WHERE entry_id = NEW.entry_id;
  IF s <> 0 THEN
    RAISE EXCEPTION 'LED_UNBALANCED: entry % sums to %', NEW.entry_id, s;
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ledger_lines_balanced AFTER INSERT ON ledger_lines
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_entry();

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the journal is append-only (%)', TG_TABLE_NAME;
END $$;
CREATE TRIGGER ledger_lines_append_only BEFORE UPDATE OR DELETE ON ledger_lines
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
`,
  },
  {
    // Server-side ad deliveries (dynamic ad insertion) are their own kind of charge, so
    // statements and reports never fold them into VAST impressions without saying so.
    id: 'ledger/0002-delivery-kind',
    sql: `
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check
  CHECK (kind IN ('impression','refund','payout','deposit','delivery'));
`,
  },
];

import type { Queryable } from '@swarmcast/platform';
import { type LedgerError, ledgerError } from './errors.ts';
import {
  type AccountId,
  accountKind,
  accounts,
  checkEntry,
  type EntryKind,
  type JournalEntry,
  type JournalLine,
  refundEntry,
} from './journal.ts';
import type { Micros } from './money.ts';

/** One account's line of a posted entry, with the entry's kind, reference and time. */
export interface Posting {
  entryId: string;
  kind: EntryKind;
  /** What the entry is about (a decision id, `dlv:<delivery id>`...): the poster's key. */
  ref: string;
  time: number;
  account: AccountId;
  /** Signed: credits to the account are positive. */
  amount: Micros;
}

/** What a post did: written, or already there (posting is idempotent by entry id). */
export type PostResult = { ok: true; written: boolean } | { ok: false; error: LedgerError };

/** A creator's statement for one calendar month (UTC). */
export interface CreatorStatement {
  creatorId: string;
  /** "YYYY-MM". */
  month: string;
  opening: Micros;
  earned: Micros;
  refunded: Micros;
  paidOut: Micros;
  closing: Micros;
  /** Impressions charged in the month, minus those refunded in it. */
  netImpressions: number;
  /** Server-side ad deliveries (DAI) charged in the month, minus those refunded in it. */
  netDeliveries: number;
}

function monthBounds(month: string): [number, number] {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  if (!m) throw new RangeError(`month must be YYYY-MM, got ${month}`);
  const y = Number(m[1]);
  const mo = Number(m[2]) - 1;
  return [Date.UTC(y, mo, 1), Date.UTC(y, mo + 1, 1)];
}

const num = (v: unknown): number => Number(v ?? 0);

/**
 * The ledger over any Queryable (a Db, or a transaction so that counting and charging
 * commit together). Entries are immutable; corrections are new entries.
 */
export class Ledger {
  constructor(private readonly db: Queryable) {}

  /** Posts an entry once; a second post of the same id is a no-op returning written=false. */
  async post(entry: JournalEntry): Promise<PostResult> {
    return (await this.postMany([entry]))[0]!;
  }

  /**
   * Posts entries as `post` would one after another, with the same results in the same
   * order (an entry posted before, or repeated in `entries`, is written=false), in three
   * statements for all of them: entries, their accounts, their lines. The measurement
   * pipeline charges a batch of impressions at once; three statements per impression were
   * most of its time on PGlite (pipeline-path bench).
   */
  async postMany(entries: readonly JournalEntry[]): Promise<PostResult[]> {
    const results = new Array<PostResult>(entries.length);
    const candidates = new Map<string, JournalEntry>();
    entries.forEach((entry, at) => {
      const bad = checkEntry(entry);
      if (bad) results[at] = { ok: false, error: bad };
      else if (!candidates.has(entry.id)) candidates.set(entry.id, entry);
    });
    if (candidates.size === 0) return results;
    // Rows are taken in id order (entries and accounts), so concurrent posts never wait on
    // each other in opposite orders.
    const toInsert = [...candidates.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const ins = await this.db.query<{ id: string }>(
      `INSERT INTO ledger_entries (id, kind, ref, time)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) ON CONFLICT (id) DO NOTHING RETURNING id`,
      [
        toInsert.map((e) => e.id),
        toInsert.map((e) => e.kind),
        toInsert.map((e) => e.ref),
        toInsert.map((e) => e.time),
      ],
    );
    const written = new Set(ins.rows.map((r) => r.id));
    const reported = new Set<string>();
    entries.forEach((entry, at) => {
      if (results[at]) return;
      // Only the first valid occurrence of an id can be the one written.
      results[at] = { ok: true, written: written.has(entry.id) && !reported.has(entry.id) };
      reported.add(entry.id);
    });
    const fresh = toInsert.filter((e) => written.has(e.id));
    if (fresh.length === 0) return results;
    const accountIds = [...new Set(fresh.flatMap((e) => e.lines.map((l) => l.account)))].sort();
    await this.db.query(
      'INSERT INTO ledger_accounts (id, kind) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (id) DO NOTHING',
      [accountIds, accountIds.map(accountKind)],
    );
    const lines = fresh.flatMap((e) => e.lines.map((l, i) => [e.id, i, l.account, l.amount] as const));
    await this.db.query(
      `INSERT INTO ledger_lines (entry_id, line, account_id, amount)
       SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::bigint[])`,
      [lines.map((l) => l[0]), lines.map((l) => l[1]), lines.map((l) => l[2]), lines.map((l) => l[3])],
    );
    return results;
  }

  async entry(id: string): Promise<JournalEntry | null> {
    const e = await this.db.query<{ id: string; kind: JournalEntry['kind']; ref: string; time: unknown }>(
      'SELECT id, kind, ref, time FROM ledger_entries WHERE id = $1',
      [id],
    );
    const row = e.rows[0];
    if (!row) return null;
    const lines = await this.db.query<{ account_id: string; amount: unknown }>(
      'SELECT account_id, amount FROM ledger_lines WHERE entry_id = $1 ORDER BY line',
      [id],
    );
    return {
      id: row.id,
      kind: row.kind,
      ref: row.ref,
      time: num(row.time),
      lines: lines.rows.map((l): JournalLine => ({ account: l.account_id, amount: num(l.amount) })),
    };
  }

  /**
   * Refunds the impression of a decision judged invalid after it was charged. No-op when
   * it was never charged or already refunded.
   */
  async refundImpression(decisionId: string, time: number): Promise<PostResult> {
    const original = await this.entry(`imp:${decisionId}`);
    if (!original) return { ok: true, written: false };
    return this.post(refundEntry(original, time));
  }

  /** Refunds a server-side delivery judged invalid after it was charged (no-op otherwise). */
  async refundDelivery(deliveryId: string, time: number): Promise<PostResult> {
    const original = await this.entry(`dlv:${deliveryId}`);
    if (!original) return { ok: true, written: false };
    return this.post(refundEntry(original, time));
  }

  async balance(account: AccountId): Promise<Micros> {
    const r = await this.db.query<{ s: unknown }>(
      'SELECT coalesce(sum(amount), 0)::text AS s FROM ledger_lines WHERE account_id = $1',
      [account],
    );
    return num(r.rows[0]?.s);
  }

  async balances(): Promise<Map<AccountId, Micros>> {
    const r = await this.db.query<{ account_id: string; s: unknown }>(
      'SELECT account_id, sum(amount)::text AS s FROM ledger_lines GROUP BY account_id ORDER BY account_id',
    );
    return new Map(r.rows.map((row) => [row.account_id, num(row.s)]));
  }

  /**
   * The books check: every entry sums to zero and so does the whole journal. Returns the
   * unbalanced entries (empty when all is well); the SQL trigger should make this always
   * empty, and this check proves it independently.
   */
  async check(): Promise<{
    balanced: boolean;
    total: Micros;
    unbalancedEntries: string[];
    error?: LedgerError;
  }> {
    const r = await this.db.query<{ entry_id: string }>(
      'SELECT entry_id FROM ledger_lines GROUP BY entry_id HAVING sum(amount) <> 0 ORDER BY entry_id',
    );
    const t = await this.db.query<{ s: unknown }>(
      'SELECT coalesce(sum(amount), 0)::text AS s FROM ledger_lines',
    );
    const total = num(t.rows[0]?.s);
    const unbalancedEntries = r.rows.map((x) => x.entry_id);
    const balanced = total === 0 && unbalancedEntries.length === 0;
    return balanced
      ? { balanced, total, unbalancedEntries }
      : { balanced, total, unbalancedEntries, error: ledgerError('LED_BOOKS_UNBALANCED', `total ${total}`) };
  }

  /**
   * One account's postings of entries of `kinds` booked in [from, to), in entry id order:
   * what other parts attribute by the entry's `ref` (measurement's money reports and signed
   * statements join them with their own decisions; they never read the ledger's tables).
   */
  async postings(
    account: AccountId,
    kinds: readonly EntryKind[],
    from: number,
    to: number,
  ): Promise<Posting[]> {
    const r = await this.db.query<{
      id: string;
      kind: EntryKind;
      ref: string;
      time: unknown;
      amount: string;
    }>(
      `SELECT e.id, e.kind, e.ref, e.time, l.amount::text AS amount
         FROM ledger_lines l JOIN ledger_entries e ON e.id = l.entry_id
        WHERE l.account_id = $1 AND e.kind = ANY($2::text[]) AND e.time >= $3 AND e.time < $4
        ORDER BY e.id, l.line`,
      [account, [...kinds], from, to],
    );
    return r.rows.map((row) => ({
      entryId: row.id,
      kind: row.kind,
      ref: row.ref,
      time: num(row.time),
      account,
      amount: num(row.amount),
    }));
  }

  /** A creator's monthly statement (UTC month). */
  async statement(creatorId: string, month: string): Promise<CreatorStatement> {
    const [from, to] = monthBounds(month);
    const account = accounts.creator(creatorId);
    const r = await this.db.query<{ kind: string; before: unknown; dlv: unknown; s: unknown; n: unknown }>(
      `SELECT e.kind, (e.time < $2) AS before, (e.ref LIKE 'dlv:%') AS dlv, sum(l.amount)::text AS s,
              count(DISTINCT e.id) AS n
         FROM ledger_lines l JOIN ledger_entries e ON e.id = l.entry_id
        WHERE l.account_id = $1 AND e.time < $3
        GROUP BY e.kind, (e.time < $2), (e.ref LIKE 'dlv:%')`,
      [account, from, to],
    );
    const s: CreatorStatement = {
      creatorId,
      month,
      opening: 0,
      earned: 0,
      refunded: 0,
      paidOut: 0,
      closing: 0,
      netImpressions: 0,
      netDeliveries: 0,
    };
    for (const row of r.rows) {
      const amount = num(row.s);
      if (row.before === true || row.before === 't') {
        s.opening += amount;
        continue;
      }
      const delivery = row.dlv === true || row.dlv === 't';
      if (row.kind === 'impression') {
        s.earned += amount;
        s.netImpressions += num(row.n);
      } else if (row.kind === 'delivery') {
        s.earned += amount;
        s.netDeliveries += num(row.n);
      } else if (row.kind === 'refund') {
        s.refunded += -amount;
        if (delivery) s.netDeliveries -= num(row.n);
        else s.netImpressions -= num(row.n);
      } else if (row.kind === 'payout') s.paidOut += -amount;
    }
    s.closing = s.opening + s.earned - s.refunded - s.paidOut;
    return s;
  }

  /** Creators with any journal line up to the end of the month. */
  async creators(): Promise<string[]> {
    const r = await this.db.query<{ id: string }>(
      "SELECT id FROM ledger_accounts WHERE kind = 'creator' ORDER BY id",
    );
    return r.rows.map((x) => x.id.slice('creator:'.length));
  }
}

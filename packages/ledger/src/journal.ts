import { type LedgerError, ledgerError } from './errors.ts';
import { type BasisPoints, impressionPrice, type Micros, splitShare } from './money.ts';

/**
 * Accounts are named by kind and owner: `advertiser:<id>`, `creator:<id>`, and the single
 * platform accounts `revenue` (gross ad revenue, a clearing account), `platform` (the
 * platform's share), `payouts` (money paid out to creators) and `cash` (advertiser deposits).
 *
 * Sign convention: a journal line's amount is positive when it increases what the account
 * holds on the platform's books (a credit to a balance), negative when it decreases it; the
 * lines of an entry always sum to zero. An advertiser's balance going negative is spend
 * they owe (or that is drawn from a deposit).
 */
export type AccountId = string;
export type AccountKind = 'advertiser' | 'creator' | 'revenue' | 'platform' | 'payouts' | 'cash';

export const accounts = {
  advertiser: (id: string): AccountId => `advertiser:${id}`,
  creator: (id: string): AccountId => `creator:${id}`,
  revenue: 'revenue' as AccountId,
  platform: 'platform' as AccountId,
  payouts: 'payouts' as AccountId,
  cash: 'cash' as AccountId,
};

export function accountKind(id: AccountId): AccountKind | null {
  const kind = id.includes(':') ? id.slice(0, id.indexOf(':')) : id;
  return (
    (['advertiser', 'creator', 'revenue', 'platform', 'payouts', 'cash'] as const).find((k) => k === kind) ??
    null
  );
}

export interface JournalLine {
  account: AccountId;
  amount: Micros;
}

export type EntryKind = 'impression' | 'refund' | 'payout' | 'deposit' | 'delivery';

export interface JournalEntry {
  /** Unique and derived from what it records, so posting twice is a no-op. */
  id: string;
  kind: EntryKind;
  /** What the entry is about: a decision id, a payout id... */
  ref: string;
  /** Milliseconds since the epoch: when the recorded event happened. */
  time: number;
  lines: JournalLine[];
}

/** Checks the double-entry invariant of one entry; null when it holds. */
export function checkEntry(entry: JournalEntry): LedgerError | null {
  if (entry.lines.length === 0) return ledgerError('LED_EMPTY_ENTRY', entry.id);
  let sum = 0;
  for (const line of entry.lines) {
    if (!Number.isSafeInteger(line.amount))
      return ledgerError('LED_BAD_AMOUNT', `${entry.id} ${line.account}`);
    if (accountKind(line.account) === null) return ledgerError('LED_UNKNOWN_ACCOUNT', line.account);
    sum += line.amount;
  }
  return sum === 0 ? null : ledgerError('LED_UNBALANCED', `${entry.id} sums to ${sum}`);
}

export interface ImpressionCharge {
  decisionId: string;
  advertiserId: string;
  creatorId: string;
  cpmMicros: Micros;
  /** When the impression happened (its beacon's receive time). */
  time: number;
}

/**
 * One counted impression: the advertiser pays CPM/1000 into revenue, and revenue passes
 * the creator's share to the creator and the rest to the platform. Revenue is a clearing
 * account (it nets to zero), so gross revenue is the sum of its incoming lines.
 * Id `imp:<decisionId>`: a decision is charged at most once.
 */
export function impressionEntry(charge: ImpressionCharge, creatorShareBps: BasisPoints): JournalEntry {
  const price = impressionPrice(charge.cpmMicros);
  const { creator, platform } = splitShare(price, creatorShareBps);
  return {
    id: `imp:${charge.decisionId}`,
    kind: 'impression',
    ref: charge.decisionId,
    time: charge.time,
    lines: [
      { account: accounts.advertiser(charge.advertiserId), amount: -price },
      { account: accounts.revenue, amount: price },
      { account: accounts.revenue, amount: -price },
      { account: accounts.creator(charge.creatorId), amount: creator },
      { account: accounts.platform, amount: platform },
    ],
  };
}

/**
 * One server-side ad delivery (an ad stitched into a podcast file and delivered under the
 * download rules): charged like an impression, at the line item's CPM with the creator's
 * share, but its own kind. Id `dlv:<deliveryId>`, ref `dlv:<deliveryId>`, so its refund is
 * `refund:dlv:<deliveryId>` and never collides with an impression's.
 */
export function deliveryEntry(charge: ImpressionCharge, creatorShareBps: BasisPoints): JournalEntry {
  const e = impressionEntry(charge, creatorShareBps);
  return { ...e, id: `dlv:${charge.decisionId}`, kind: 'delivery', ref: `dlv:${charge.decisionId}` };
}

/**
 * Undoes an impression judged invalid after it was charged: the exact negation of its
 * lines (so a share change since then cannot make a refund differ from the charge).
 * Id `refund:<decisionId>`: refunded at most once.
 */
export function refundEntry(original: JournalEntry, time: number): JournalEntry {
  return {
    id: `refund:${original.ref}`,
    kind: 'refund',
    ref: original.ref,
    time,
    lines: original.lines.map((l) => ({ account: l.account, amount: -l.amount })),
  };
}

/** Money paid out to a creator: their balance decreases, the payouts account records it. */
export function payoutEntry(payoutId: string, creatorId: string, amount: Micros, time: number): JournalEntry {
  return {
    id: `payout:${payoutId}`,
    kind: 'payout',
    ref: payoutId,
    time,
    lines: [
      { account: accounts.creator(creatorId), amount: -amount },
      { account: accounts.payouts, amount },
    ],
  };
}

/** An advertiser's prepayment: cash received, their balance grows. */
export function depositEntry(
  depositId: string,
  advertiserId: string,
  amount: Micros,
  time: number,
): JournalEntry {
  return {
    id: `deposit:${depositId}`,
    kind: 'deposit',
    ref: depositId,
    time,
    lines: [
      { account: accounts.cash, amount: -amount },
      { account: accounts.advertiser(advertiserId), amount },
    ],
  };
}

/** Sum of every balance: zero when the books balance. */
export function trialBalance(balances: ReadonlyMap<AccountId, Micros>): Micros {
  let sum = 0;
  for (const v of balances.values()) sum += v;
  return sum;
}

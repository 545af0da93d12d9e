// The public surface of @swarmcast/ledger (see README.md beside this folder).
export { type LedgerError, type LedgerErrorCode, ledgerError, ledgerErrors } from './errors.ts';
export {
  type AccountId,
  type AccountKind,
  accountKind,
  accounts,
  checkEntry,
  deliveryEntry,
  depositEntry,
  type EntryKind,
  type ImpressionCharge,
  impressionEntry,
  type JournalEntry,
  type JournalLine,
  payoutEntry,
  refundEntry,
  trialBalance,
} from './journal.ts';
export { type CreatorStatement, Ledger, type Posting, type PostResult } from './ledger.ts';
export { ledgerMigrations } from './migrations.ts';
export {
  assertMicros,
  type BasisPoints,
  defaultCreatorShareBps,
  formatMicros,
  impressionPrice,
  type Micros,
  splitShare,
} from './money.ts';

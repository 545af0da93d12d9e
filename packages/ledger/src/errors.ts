/** Coded errors of the ledger (listed in docs/errors.md; codes are never reused). */
export const ledgerErrors = {
  LED_UNBALANCED: 'journal entry lines do not sum to zero',
  LED_EMPTY_ENTRY: 'journal entry has no lines',
  LED_BAD_AMOUNT: 'journal line amount is not a safe integer of micros',
  LED_UNKNOWN_ACCOUNT: 'account does not exist',
  LED_BOOKS_UNBALANCED: 'the trial balance of all accounts is not zero',
} as const;

export type LedgerErrorCode = keyof typeof ledgerErrors;

export interface LedgerError {
  code: LedgerErrorCode;
  message: string;
}

export function ledgerError(code: LedgerErrorCode, detail?: string): LedgerError {
  return { code, message: detail ? `${ledgerErrors[code]}: ${detail}` : ledgerErrors[code] };
}

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Clock, Queryable } from '@swarmcast/platform';
import { fail, ok, type Result } from './errors.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import { cleanText } from './slug.ts';

export type Role = 'creator' | 'advertiser' | 'admin';

export interface Account {
  id: string;
  email: string;
  name: string;
  role: Role;
}

export interface SignupInput {
  email: string;
  name: string;
  password: string;
  role?: Role;
}

/** Web sessions last 30 days; API tokens until they expire or are revoked. */
const sessionMs = 30 * 24 * 3600 * 1000;
const emailPattern = /^[^\s@]{1,64}@[^\s@]{1,190}$/;

function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Checks the fields of a sign-up; a pure function over the input. */
export function validateSignup(input: SignupInput): Result<Required<SignupInput>> {
  const email = String(input.email ?? '')
    .trim()
    .toLowerCase();
  const name = cleanText(input.name);
  const password = String(input.password ?? '');
  const role = input.role ?? 'creator';
  if (!emailPattern.test(email))
    return fail('CAT_BAD_INPUT', 'email: enter an address like name@example.org');
  if (name.length < 1 || name.length > 80) return fail('CAT_BAD_INPUT', 'name: 1 to 80 characters');
  if (password.length < 10 || password.length > 200) {
    return fail('CAT_BAD_INPUT', 'password: 10 to 200 characters');
  }
  if (!['creator', 'advertiser', 'admin'].includes(role)) return fail('CAT_BAD_INPUT', 'role: unknown');
  return ok({ email, name, password, role });
}

export async function createAccount(db: Queryable, input: SignupInput): Promise<Result<Account>> {
  const v = validateSignup(input);
  if (!v.ok) return v;
  const { email, name, password, role } = v.value;
  const passwordHash = await hashPassword(password);
  const id = randomUUID();
  const r = await db.query(
    `insert into catalog_accounts (id, email, name, role, password_hash) values ($1, $2, $3, $4, $5)
     on conflict (email) do nothing`,
    [id, email, name, role, passwordHash],
  );
  if (r.affectedRows === 0) return fail('CAT_EMAIL_TAKEN', 'an account with this email already exists');
  return ok({ id, email, name, role });
}

export async function checkPassword(
  db: Queryable,
  email: string,
  password: string,
): Promise<Result<Account>> {
  const r = await db.query<Account & { password_hash: string; suspended_at: Date | null }>(
    'select id, email, name, role, password_hash, suspended_at from catalog_accounts where email = $1',
    [
      String(email ?? '')
        .trim()
        .toLowerCase(),
    ],
  );
  const row = r.rows[0];
  // Verify against a dummy hash when there is no such account, so timing does not tell.
  const good = await verifyPassword(String(password ?? ''), row?.password_hash ?? dummyHash);
  if (!row || !good) return fail('CAT_BAD_CREDENTIALS', 'the email or password is wrong');
  if (row.suspended_at)
    return fail('CAT_SUSPENDED', 'this account is suspended; ask the admins of this node');
  return ok({ id: row.id, email: row.email, name: row.name, role: row.role });
}

const dummyHash = 'scrypt$32768$8$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

/** A new web session; returns the cookie value (only its hash is stored). */
export async function createSession(db: Queryable, accountId: string, clock: Clock): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await db.query(
    `insert into catalog_credentials (token_hash, account_id, kind, expires_at) values ($1, $2, 'web', $3)`,
    [tokenHash(token), accountId, new Date(clock.now() + sessionMs)],
  );
  return token;
}

/**
 * A new API token for scripts (`Authorization: Bearer <token>`); shown once. `expiresAt`:
 * when it stops working (null: never; the API and dashboard always set one).
 */
export async function createApiToken(
  db: Queryable,
  accountId: string,
  label: string,
  expiresAt: Date | null = null,
): Promise<string> {
  const token = `sc_${randomBytes(32).toString('base64url')}`;
  await db.query(
    `insert into catalog_credentials (token_hash, account_id, kind, label, expires_at) values ($1, $2, 'api', $3, $4)`,
    [tokenHash(token), accountId, label.slice(0, 80), expiresAt],
  );
  return token;
}

/** Days an API token lives when the creator does not say (and the most it may). */
export const apiTokenDefaultDays = 90;
export const apiTokenMaxDays = 365;

/** An API token as its owner sees it: never the token itself. */
export interface ApiTokenInfo {
  /** Public handle for revoking: a prefix of the token's hash (the token cannot be derived). */
  id: string;
  label: string;
  createdAt: Date;
  expiresAt: Date | null;
  expired: boolean;
}

/** The account's API tokens, newest first. */
export async function listApiTokens(db: Queryable, accountId: string, clock: Clock): Promise<ApiTokenInfo[]> {
  const r = await db.query<{ token_hash: string; label: string; created_at: Date; expires_at: Date | null }>(
    `select token_hash, label, created_at, expires_at from catalog_credentials
     where account_id = $1 and kind = 'api' order by created_at desc limit 200`,
    [accountId],
  );
  const now = clock.now();
  return r.rows.map((t) => ({
    id: t.token_hash.slice(0, 16),
    label: t.label,
    createdAt: new Date(t.created_at),
    expiresAt: t.expires_at ? new Date(t.expires_at) : null,
    expired: t.expires_at !== null && new Date(t.expires_at).getTime() <= now,
  }));
}

/** Revokes one of the account's API tokens by its id (from `listApiTokens`). */
export async function revokeApiToken(db: Queryable, accountId: string, id: string): Promise<Result<null>> {
  if (!/^[0-9a-f]{16}$/.test(String(id))) return fail('CAT_NOT_FOUND', 'no such token');
  const r = await db.query(
    `delete from catalog_credentials where account_id = $1 and kind = 'api' and substr(token_hash, 1, 16) = $2`,
    [accountId, id],
  );
  return r.affectedRows > 0 ? ok(null) : fail('CAT_NOT_FOUND', 'no such token');
}

/**
 * Changes the password after checking the current one, and revokes every other credential
 * of the account: all API tokens and every web session but `keepSession` (the one making the
 * change, when it is a session), so whoever held a stolen credential is out.
 */
export async function changePassword(
  db: Queryable,
  accountId: string,
  current: string,
  next: string,
  keepSession: string | null,
): Promise<Result<{ revoked: number }>> {
  const r = await db.query<{ password_hash: string }>(
    'select password_hash from catalog_accounts where id = $1',
    [accountId],
  );
  const row = r.rows[0];
  if (!row || !(await verifyPassword(String(current ?? ''), row.password_hash)))
    return fail('CAT_BAD_CREDENTIALS', 'the current password is wrong');
  const password = String(next ?? '');
  if (password.length < 10 || password.length > 200)
    return fail('CAT_BAD_INPUT', 'password: 10 to 200 characters');
  await db.query('update catalog_accounts set password_hash = $2 where id = $1', [
    accountId,
    await hashPassword(password),
  ]);
  const keep = keepSession ? tokenHash(keepSession) : '';
  const gone = await db.query('delete from catalog_credentials where account_id = $1 and token_hash <> $2', [
    accountId,
    keep,
  ]);
  return ok({ revoked: gone.affectedRows });
}

/** The account behind a session cookie or API token, or null when it is unknown or expired. */
export async function authenticate(
  db: Queryable,
  token: string,
  kind: 'web' | 'api',
  clock: Clock,
): Promise<Account | null> {
  if (!token || token.length > 200) return null;
  const r = await db.query<Account>(
    `select a.id, a.email, a.name, a.role from catalog_credentials c join catalog_accounts a on a.id = c.account_id
     where c.token_hash = $1 and c.kind = $2 and (c.expires_at is null or c.expires_at > $3) and a.suspended_at is null`,
    [tokenHash(token), kind, new Date(clock.now())],
  );
  return r.rows[0] ?? null;
}

/**
 * The node's admin token (the data dir's file, for scripts) as an API credential of an admin
 * account of its own, so every API that takes an account takes the token too. The account has
 * no password (it cannot log in) and an address with no @ (no sign-up can claim it); a token
 * that changed (SWARMCAST_ADMIN_TOKEN) replaces the old one. Idempotent: every process of a
 * node runs it at start.
 */
export const nodeAdminAccountId = 'node-admin-token';
export async function registerNodeAdminToken(db: Queryable, token: string): Promise<void> {
  if (!token) return;
  const hash = tokenHash(token);
  await db.query(
    `insert into catalog_accounts (id, email, name, role, password_hash) values ($1, $1, 'Node admin token', 'admin', '!')
     on conflict do nothing`,
    [nodeAdminAccountId],
  );
  await db.query('delete from catalog_credentials where account_id = $1 and token_hash <> $2', [
    nodeAdminAccountId,
    hash,
  ]);
  await db.query(
    `insert into catalog_credentials (token_hash, account_id, kind, label) values ($1, $2, 'api', 'node admin token')
     on conflict do nothing`,
    [hash, nodeAdminAccountId],
  );
}

export async function revokeCredential(db: Queryable, token: string): Promise<void> {
  await db.query('delete from catalog_credentials where token_hash = $1', [tokenHash(token)]);
}

/** Every account, newest first (the admin's user list). */
export async function listAccounts(
  db: Queryable,
  limit = 500,
): Promise<(Account & { createdAt: Date; suspendedAt: Date | null })[]> {
  const r = await db.query<Account & { createdAt: Date; suspendedAt: Date | null }>(
    'select id, email, name, role, created_at as "createdAt", suspended_at as "suspendedAt" from catalog_accounts order by created_at desc limit $1',
    [limit],
  );
  return r.rows;
}

/**
 * Suspends an account (now) or reinstates it (admins only: the caller checks). A suspended
 * account keeps its shows, campaigns and credentials, but cannot log in and every session
 * and API token of it is refused until it is reinstated.
 */
export async function setSuspended(
  db: Queryable,
  accountId: string,
  suspended: boolean,
  clock: Clock,
): Promise<Result<Account>> {
  const r = await db.query<Account>(
    'update catalog_accounts set suspended_at = $1 where id = $2 returning id, email, name, role',
    [suspended ? new Date(clock.now()) : null, String(accountId)],
  );
  return r.rows[0] ? ok(r.rows[0]) : fail('CAT_NOT_FOUND', 'no such account');
}

/** Gives an account another role (admins only: the caller checks). */
export async function setRole(db: Queryable, accountId: string, role: Role): Promise<Result<Account>> {
  if (!['creator', 'advertiser', 'admin'].includes(role)) return fail('CAT_BAD_INPUT', 'role: unknown');
  const r = await db.query<Account>(
    'update catalog_accounts set role = $1 where id = $2 returning id, email, name, role',
    [role, String(accountId)],
  );
  return r.rows[0] ? ok(r.rows[0]) : fail('CAT_NOT_FOUND', 'no such account');
}

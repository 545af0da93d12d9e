/**
 * The ad server's decision-signing keys in `<dataDir>/ads-signing-key.jwk.json`, shared by
 * every process of the network (the data folder is shared), rotated while they run.
 *
 * A rotation is announced ahead: `swarmcast keys rotate` adds a key whose `activeFrom` lies
 * `activateInMs` ahead (default 2 min). Every process re-reads the file every `reloadMs`
 * (default 15 s, less than the announcement), so by `activeFrom` all of them verify the new
 * key; each switches to signing with it at that instant by its own clock, with no message
 * between processes. A token signed by a process that switched first verifies everywhere,
 * and one signed with the old key keeps verifying (retired keys verify) until it is dropped,
 * `keepRetiredMs` (default 24 h, past the 6 h token lifetime) after it was retired.
 *
 * The file is replaced whole (write a temporary file, rename), so a reader sees the old or the
 * new ring, never a mix; rotations are serialised by an exclusive lock file. The first start
 * writes a one-key file in the format of earlier versions (one JWK), which is still read.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  exportSigningKey,
  generateSigningKey,
  importSigningKey,
  type KeyRing,
  type SigningKey,
  type SigningKeyJwk,
} from '@swarmcast/ads';

/** The file's name under the data dir (the name of the one-key file of earlier versions). */
export const signingKeyFile = 'ads-signing-key.jwk.json';

export interface RingEntry {
  key: SigningKey;
  /** When it starts signing (ms since the epoch); 0 for the first key. */
  activeFrom: number;
}

interface RingFile {
  keys: Array<SigningKeyJwk & { activeFrom: number }>;
}

/** Parses the file: a ring, or the single JWK earlier versions (and the first start) write. */
export function parseRingFile(text: string): RingEntry[] {
  const json = JSON.parse(text) as RingFile | SigningKeyJwk;
  const list = 'keys' in json ? json.keys : [{ ...json, activeFrom: 0 }];
  if (list.length === 0) throw new Error('the signing key file has no key');
  return list
    .map((k) => ({ key: importSigningKey(k), activeFrom: Number(k.activeFrom) || 0 }))
    .sort((a, b) => a.activeFrom - b.activeFrom);
}

/** The ring in force at `now`: the newest key already active signs; later ones verify. */
export function ringAt(entries: readonly RingEntry[], now: number): KeyRing {
  let i = 0;
  for (let j = 0; j < entries.length; j++) if (entries[j]!.activeFrom <= now) i = j;
  const retired = [];
  for (let j = i - 1; j >= 0; j--)
    retired.push({
      keyId: entries[j]!.key.keyId,
      publicKey: entries[j]!.key.publicKey,
      retiredAt: entries[j + 1]!.activeFrom,
    });
  const upcoming = entries.slice(i + 1).map((e) => ({
    keyId: e.key.keyId,
    publicKey: e.key.publicKey,
    activeFrom: e.activeFrom,
  }));
  return { active: entries[i]!.key, retired, upcoming };
}

function serialise(entries: readonly RingEntry[]): string {
  const file: RingFile = {
    keys: entries.map((e) => ({ ...exportSigningKey(e.key), activeFrom: e.activeFrom })),
  };
  return `${JSON.stringify(file, null, 1)}\n`;
}

/** Runs `fn` holding `<path>.lock` (made exclusively; a stale one older than `staleMs` is broken). */
async function withLock<T>(path: string, fn: () => Promise<T>, staleMs = 30_000): Promise<T> {
  const lock = `${path}.lock`;
  for (let attempt = 0; ; attempt++) {
    try {
      const h = await open(lock, 'wx', 0o600);
      await h.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = Date.now() - (await stat(lock).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      if (age > staleMs) await unlink(lock).catch(() => {});
      else if (attempt > 100) throw new Error(`another key rotation holds ${lock}`);
      else await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lock).catch(() => {});
  }
}

/** Replaces the file whole: readers see the old ring or the new one. Mode 0600. */
async function replaceFile(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, text, { mode: 0o600, flag: 'wx' });
    await rename(temporary, path);
  } catch (err) {
    await unlink(temporary).catch(() => {});
    throw err;
  }
}

export interface RotateOptions {
  /** When the new key starts signing, from now (default 2 min: several reloads of every process). */
  activateInMs?: number;
  /** Retired keys are dropped this long after their retirement (default 24 h). */
  keepRetiredMs?: number;
  keyId?: string;
}

/**
 * Adds a new key to the ring in `dataDir`, active `activateInMs` from `now`, and drops keys
 * retired longer than `keepRetiredMs` ago. Returns the ring's entries after it.
 */
export async function rotateSigningKey(
  dataDir: string,
  now: number,
  o: RotateOptions = {},
): Promise<{ added: RingEntry; dropped: string[]; entries: RingEntry[] }> {
  const path = join(dataDir, signingKeyFile);
  return withLock(path, async () => {
    const entries = parseRingFile(await readFile(path, 'utf8'));
    const keyId = o.keyId ?? `k${now.toString(36)}-${randomBytes(3).toString('hex')}`;
    if (entries.some((e) => e.key.keyId === keyId)) throw new Error(`keyId ${keyId} is already in the ring`);
    const added = { key: generateSigningKey(keyId), activeFrom: now + (o.activateInMs ?? 120_000) };
    const keep = o.keepRetiredMs ?? 24 * 3_600_000;
    // A key is retired when the next one became active; drop it once that is `keep` ago.
    const dropped: string[] = [];
    const kept = entries.filter((e, i) => {
      const successor = entries[i + 1];
      const gone = successor !== undefined && successor.activeFrom <= now - keep;
      if (gone) dropped.push(e.key.keyId);
      return !gone;
    });
    const next = [...kept, added];
    await replaceFile(path, serialise(next));
    return { added, dropped, entries: next };
  });
}

/** Reads the ring in `dataDir` (the caller made the file on first start). */
export async function readSigningKeys(dataDir: string): Promise<RingEntry[]> {
  return parseRingFile(await readFile(join(dataDir, signingKeyFile), 'utf8'));
}

/**
 * The ring as a running process sees it: re-read every `reloadMs` when the file changed, and
 * the active key chosen by the clock at each call (so every process switches at `activeFrom`).
 * A file that cannot be read or parsed keeps the last good ring (and is reported).
 */
export async function watchKeyRing(
  dataDir: string,
  o: { now: () => number; reloadMs?: number; onError?: (err: unknown) => void },
): Promise<{ ring(): KeyRing; reload(): Promise<void>; close(): void }> {
  const path = join(dataDir, signingKeyFile);
  let entries = parseRingFile(await readFile(path, 'utf8'));
  const version = (s: { ino: number; mtimeMs: number; size: number }) => `${s.ino}:${s.mtimeMs}:${s.size}`;
  let seen = version(await stat(path));
  let cached: { ring: KeyRing; until: number; from: number } | null = null;
  const reload = async () => {
    try {
      const s = await stat(path);
      if (version(s) === seen) return;
      entries = parseRingFile(await readFile(path, 'utf8'));
      seen = version(s);
      cached = null;
    } catch (err) {
      o.onError?.(err);
    }
  };
  const timer = setInterval(() => void reload(), o.reloadMs ?? 15_000);
  timer.unref();
  return {
    ring() {
      const now = o.now();
      // Recomputed only when the clock crosses an activation (or went back).
      if (cached && now < cached.until && now >= cached.from) return cached.ring;
      const next = entries.find((e) => e.activeFrom > now);
      const from = [...entries].reverse().find((e) => e.activeFrom <= now)?.activeFrom ?? 0;
      cached = { ring: ringAt(entries, now), until: next?.activeFrom ?? Number.POSITIVE_INFINITY, from };
      return cached.ring;
    },
    reload,
    close: () => clearInterval(timer),
  };
}

/**
 * Private mode: who may announce and which torrents are tracked. A deployment that wants it
 * gives each account a passkey (in the announce URL path) and registers the info-hashes
 * published on its network; uploaded/downloaded are credited per account for ratios.
 */
import type { InfoHash } from '../types.ts';

export interface TrackerAccess {
  /** The account owning `passkey`, or null when the key is unknown. */
  accountFor(passkey: string): Promise<string | null>;
  /** Whether `infoHash` is on the allow-list. */
  isRegistered(infoHash: InfoHash): Promise<boolean>;
  /** Adds a peer's upload and download since its previous announce to its account. */
  credit(account: string, uploaded: number, downloaded: number): Promise<void>;
  /** The account's totals (for ratio display). */
  totals(account: string): Promise<{ uploaded: number; downloaded: number }>;
}

/** In-process access lists, for one process or tests. */
export class MemoryAccess implements TrackerAccess {
  private readonly passkeys = new Map<string, string>();
  private readonly allowed = new Set<string>();
  private readonly ratio = new Map<string, { uploaded: number; downloaded: number }>();

  addPasskey(passkey: string, account: string): void {
    this.passkeys.set(passkey, account);
  }

  removePasskey(passkey: string): void {
    this.passkeys.delete(passkey);
  }

  register(infoHash: InfoHash): void {
    this.allowed.add(infoHash);
  }

  async accountFor(passkey: string): Promise<string | null> {
    return this.passkeys.get(passkey) ?? null;
  }

  async isRegistered(infoHash: InfoHash): Promise<boolean> {
    return this.allowed.has(infoHash);
  }

  async credit(account: string, uploaded: number, downloaded: number): Promise<void> {
    const t = this.ratio.get(account) ?? { uploaded: 0, downloaded: 0 };
    t.uploaded += uploaded;
    t.downloaded += downloaded;
    this.ratio.set(account, t);
  }

  async totals(account: string): Promise<{ uploaded: number; downloaded: number }> {
    return { ...(this.ratio.get(account) ?? { uploaded: 0, downloaded: 0 }) };
  }
}

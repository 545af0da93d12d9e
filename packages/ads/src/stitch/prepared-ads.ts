/**
 * Creatives prepared for an encoding profile (sample rate, channels, MPEG version...), made
 * ahead of need and kept as files: `<dir>/<creative>/<profile key>.mp3` (+ `.json` meta). Preparing (a
 * re-encode with the media part's codec) runs in the background, one at a time, from a
 * bounded queue; the request path only asks `ready()`, which never waits. A creative whose
 * encoding cannot be prepared is remembered as failed with its reason (shown in reports)
 * and tried again only after `retryMs`.
 */
import { readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A prepared creative: its stitchable bytes in a file, and what the stitcher must know of them. */
export interface PreparedAd<M = unknown> {
  path: string;
  bytes: number;
  meta: M;
}

export interface PreparedAdsOptions<P, M = unknown> {
  dir: string;
  /** Stable, file-name-safe key of a profile (e.g. "mpeg1-l3-44100-2"). */
  profileKey(profile: P): string;
  /** The creative's source file on disk, or null if it has none we can read. */
  sourceOf(creativeId: string): string | null;
  /** Re-encodes a creative for the profile (the media part's codec). Throws when it cannot. */
  prepare(input: Uint8Array, profile: P): Promise<{ bytes: Uint8Array; meta: M }>;
  /** Most jobs waiting (default 256); beyond it requests are dropped and asked again later. */
  maxQueued?: number;
  retryMs?: number;
  now?: () => number;
  onError?: (creativeId: string, profileKey: string, err: unknown) => void;
}

const safe = /^[A-Za-z0-9._-]{1,128}$/;

export class PreparedAds<P, M = unknown> {
  private readonly ready_ = new Map<string, PreparedAd<M>>();
  private readonly failed = new Map<string, { at: number; reason: string }>();
  private readonly queued = new Map<string, { creativeId: string; profile: P }>();
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly o: PreparedAdsOptions<P, M>) {}

  private key(creativeId: string, profileKey: string): string {
    return `${creativeId}\u0000${profileKey}`;
  }

  private fileOf(creativeId: string, profileKey: string): string {
    return join(this.o.dir, creativeId, `${profileKey}.mp3`);
  }

  /**
   * The prepared file, or null (and its preparation queued) when not ready. Never waits; a
   * file prepared before a restart is picked up from disk (one small synchronous read).
   */
  ready(creativeId: string, profile: P): PreparedAd<M> | null {
    const pk = this.o.profileKey(profile);
    const k = this.key(creativeId, pk);
    const hit = this.ready_.get(k);
    if (hit) return hit;
    if (safe.test(creativeId) && safe.test(pk)) {
      const found = this.fromDisk(creativeId, pk);
      if (found) {
        this.ready_.set(k, found);
        return found;
      }
    }
    this.request(creativeId, profile);
    return null;
  }

  private fromDisk(creativeId: string, pk: string): PreparedAd<M> | null {
    const path = this.fileOf(creativeId, pk);
    try {
      const st = statSync(path, { throwIfNoEntry: false });
      if (!st?.isFile() || st.size === 0) return null;
      const meta = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as M;
      return { path, bytes: st.size, meta };
    } catch {
      return null;
    }
  }

  /** Why a creative could not be prepared for a profile, if it failed. */
  failure(creativeId: string, profileKey: string): string | null {
    return this.failed.get(this.key(creativeId, profileKey))?.reason ?? null;
  }

  failures(): Array<{ creativeId: string; profileKey: string; reason: string }> {
    return [...this.failed].map(([k, v]) => {
      const [creativeId, profileKey] = k.split('\u0000') as [string, string];
      return { creativeId, profileKey, reason: v.reason };
    });
  }

  /** Queues preparation (creative approval, first need, node start). */
  request(creativeId: string, profile: P): void {
    if (this.closed) return;
    const pk = this.o.profileKey(profile);
    const k = this.key(creativeId, pk);
    if (this.ready_.has(k) || this.queued.has(k)) return;
    const f = this.failed.get(k);
    const now = this.o.now?.() ?? Date.now();
    if (f && now - f.at < (this.o.retryMs ?? 3_600_000)) return;
    if (this.queued.size >= (this.o.maxQueued ?? 256)) return;
    if (!safe.test(creativeId) || !safe.test(pk)) {
      this.failed.set(k, { at: now, reason: 'bad-name' });
      return;
    }
    this.queued.set(k, { creativeId, profile });
    if (!this.running) this.running = this.drain().finally(() => (this.running = null));
  }

  /** Resolves when nothing is queued or running (tests, node start). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  close(): Promise<void> {
    this.closed = true;
    this.queued.clear();
    return this.running ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    for (;;) {
      const next = this.queued.entries().next();
      if (next.done || this.closed) return;
      const [k, job] = next.value;
      await this.prepareOne(job.creativeId, job.profile).catch((err: unknown) => {
        const reason = err instanceof Error ? err.message.slice(0, 200) : 'failed';
        this.failed.set(k, { at: this.o.now?.() ?? Date.now(), reason });
        this.o.onError?.(job.creativeId, this.o.profileKey(job.profile), err);
      });
      this.queued.delete(k);
    }
  }

  private async prepareOne(creativeId: string, profile: P): Promise<void> {
    const pk = this.o.profileKey(profile);
    const out = this.fileOf(creativeId, pk);
    const existing = this.fromDisk(creativeId, pk);
    if (existing) {
      this.ready_.set(this.key(creativeId, pk), existing);
      return;
    }
    const source = this.o.sourceOf(creativeId);
    if (!source) throw new Error('creative has no readable source file');
    const prepared = await this.o.prepare(new Uint8Array(await readFile(source)), profile);
    if (prepared.bytes.length === 0) throw new Error('prepared creative is empty');
    await mkdir(join(this.o.dir, creativeId), { recursive: true });
    // Meta first, then the bytes by rename: a file on disk always has its meta beside it.
    const tmp = `${out}.${process.pid}.tmp`;
    await writeFile(`${out}.json`, JSON.stringify(prepared.meta));
    await writeFile(tmp, prepared.bytes);
    await rename(tmp, out);
    this.ready_.set(this.key(creativeId, pk), {
      path: out,
      bytes: prepared.bytes.length,
      meta: prepared.meta,
    });
  }
}

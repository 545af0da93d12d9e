/**
 * Which published torrents this process seeds. With several seeder processes on one
 * database, exactly one of them seeds each episode at a time: the one holding the episode's
 * lease (platform leases, a row per episode). Every tick the roster renews what it holds,
 * claims what nobody holds (a new episode, or one whose seeder died and let its lease
 * expire), starts seeding what it gained and stops what it lost. One process alone holds
 * every lease, which is the embedded node's case.
 *
 * An episode whose file is not in this process's media folder is reported once and its
 * lease given back, so a process that has the file can take it.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type SeedableEpisode, seedableEpisodes, seedableTorrents } from '@swarmcast/catalog';
import { type Clock, claimLeases, type Queryable, releaseLeases } from '@swarmcast/platform';
import type { Seeding } from './seeding.ts';

export interface SeedRosterOptions {
  db: Queryable;
  mediaDir: string;
  seeding: Seeding;
  clock: Clock;
  /** This process's name in the lease table: unique per process (host, pid, a random part). */
  holder: string;
  /** How long a lease lasts unrenewed: the take-over time after a seeder dies (default 15 s). */
  ttlMs?: number;
  /** How often leases are renewed and claimed (default a third of the TTL). */
  everyMs?: number;
  onMissing?: (episodeId: string, mediaPath: string, reason: string) => void;
  onError?: (err: unknown) => void;
}

/** The lease name of one episode's seeding (its hybrid and v1 companion go together). */
export const seedLeaseName = (e: Pick<SeedableEpisode, 'infoHash'>) => `seed:${e.infoHash}`;

export class SeedRoster {
  private readonly ttlMs: number;
  private readonly everyMs: number;
  /** Episodes seeded here: lease name -> the engine's info-hashes of its torrents, its file. */
  private readonly seeded = new Map<string, { hashes: string[]; path: string }>();
  /** Files just made into torrents here: no need to hash them again. */
  private readonly verified = new Set<string>();
  private readonly reported = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private timer: ReturnType<typeof setInterval> | undefined;
  private closed = false;

  constructor(private readonly o: SeedRosterOptions) {
    this.ttlMs = o.ttlMs ?? 15_000;
    this.everyMs = o.everyMs ?? Math.max(1_000, Math.floor(this.ttlMs / 3));
  }

  /** Runs the first round (seeding what is ours at start), then one every `everyMs`. */
  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => {
      this.tick().catch((err: unknown) => this.o.onError?.(err));
    }, this.everyMs);
    this.timer.unref();
  }

  /** Episode lease names seeded by this process. */
  held(): string[] {
    return [...this.seeded.keys()];
  }

  /** A file was just published here (its torrent made from it): claim and seed it now. */
  offer(path: string): Promise<void> {
    // The companion of an episode just seeded with its hybrid: already in hand, no round.
    for (const e of this.seeded.values()) if (e.path === path) return Promise.resolve();
    this.verified.add(path);
    return this.tick();
  }

  /** One round; rounds never overlap (each waits for the one before). */
  tick(): Promise<void> {
    const next = this.queue.then(() => this.round());
    this.queue = next.catch(() => {});
    return next;
  }

  private async round(): Promise<void> {
    if (this.closed) return;
    const episodes = await seedableEpisodes(this.o.db);
    const byName = new Map(episodes.map((e) => [seedLeaseName(e), e]));
    const held = await claimLeases(this.o.db, this.o.holder, [...byName.keys()], {
      now: this.o.clock.now(),
      ttlMs: this.ttlMs,
    });
    // Lost (another process took it over after a stall here) or deleted: stop seeding.
    for (const [name, { hashes }] of this.seeded) {
      if (held.has(name)) continue;
      this.seeded.delete(name);
      for (const h of hashes) await this.o.seeding.unseed(h);
    }
    const giveBack: string[] = [];
    for (const name of held) {
      if (this.seeded.has(name) || this.closed) continue;
      const e = byName.get(name);
      if (!e) continue;
      const path = join(this.o.mediaDir, e.mediaPath);
      try {
        await stat(path);
      } catch (err) {
        giveBack.push(name);
        if (!this.reported.has(name)) {
          this.reported.add(name);
          this.o.onMissing?.(e.episodeId, e.mediaPath, (err as { code?: string }).code ?? 'missing');
        }
        continue;
      }
      const files = await seedableTorrents(this.o.db, e.episodeId);
      if (!files) continue;
      const dataVerified = this.verified.delete(path);
      const hashes = [await this.o.seeding.seed(files.torrent, path, { dataVerified })];
      if (files.companion) hashes.push(await this.o.seeding.seed(files.companion, path, { dataVerified }));
      this.seeded.set(name, { hashes, path });
    }
    if (giveBack.length > 0) await releaseLeases(this.o.db, this.o.holder, giveBack);
  }

  /** Stops the rounds and gives every lease back at once (a clean stop hands over fast). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.closed = true;
    await this.queue;
    const names = [...this.seeded.keys()];
    this.seeded.clear();
    await releaseLeases(this.o.db, this.o.holder, names).catch((err: unknown) => this.o.onError?.(err));
  }
}

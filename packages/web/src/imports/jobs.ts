import { randomUUID } from 'node:crypto';
import {
  type Account,
  type CatalogContext,
  type ImportReport,
  type ImportSource,
  importFeed,
} from '@swarmcast/catalog';

export interface EpisodeProgress {
  guid: string;
  title: string;
  state: 'waiting' | 'fetching' | 'done' | 'failed';
  bytes: number;
  total: number | null;
  error: string | null;
}

/** One import as the dashboard and `swarmcast import` follow it. */
export interface ImportJob {
  id: string;
  accountId: string;
  state: 'running' | 'done' | 'failed';
  show: { slug: string; title: string } | null;
  alreadyHere: number;
  episodes: EpisodeProgress[];
  error: { code: string; message: string } | null;
  report: ImportReport | null;
  startedAt: number;
}

/**
 * Imports running in this node, kept in memory for an hour after they end (the outcome per
 * episode is also in catalog_import_items, which is what a re-run and the show's dashboard
 * read). At most one running import per account: a second waits for nothing, it is refused.
 */
export class ImportJobs {
  private readonly jobs = new Map<string, ImportJob>();
  private readonly controllers = new Set<AbortController>();

  constructor(private readonly ctx: CatalogContext) {}

  get(id: string, who: Account): ImportJob | null {
    const job = this.jobs.get(id);
    return job && (job.accountId === who.id || who.role === 'admin') ? job : null;
  }

  running(who: Account): ImportJob | null {
    for (const j of this.jobs.values()) if (j.accountId === who.id && j.state === 'running') return j;
    return null;
  }

  start(who: Account, source: ImportSource, o: { slug?: string; concurrency?: number }): ImportJob {
    const now = this.ctx.clock.now();
    for (const [id, j] of this.jobs)
      if (j.state !== 'running' && now - j.startedAt > 3_600_000) this.jobs.delete(id);
    const job: ImportJob = {
      id: randomUUID(),
      accountId: who.id,
      state: 'running',
      show: null,
      alreadyHere: 0,
      episodes: [],
      error: null,
      report: null,
      startedAt: now,
    };
    this.jobs.set(job.id, job);
    const controller = new AbortController();
    this.controllers.add(controller);
    const episode = (guid: string, title: string) => {
      let e = job.episodes.find((x) => x.guid === guid);
      if (!e) {
        e = { guid, title, state: 'waiting', bytes: 0, total: null, error: null };
        job.episodes.push(e);
      }
      return e;
    };
    importFeed(this.ctx, who, source, {
      ...o,
      signal: controller.signal,
      onEvent: (ev) => {
        if (ev.kind === 'show') {
          job.show = { slug: ev.show.slug, title: ev.show.title };
          job.alreadyHere = ev.alreadyHere;
        } else if (ev.kind === 'progress') {
          const e = episode(ev.guid, ev.title);
          e.state = 'fetching';
          e.bytes = ev.bytes;
          e.total = ev.total;
        } else {
          const e = episode(ev.guid, ev.title);
          e.state = ev.state;
          e.error = ev.error ?? null;
        }
      },
    })
      .then(
        (r) => {
          if (r.ok) {
            job.report = r.value;
            job.state = 'done';
          } else {
            job.error = { code: r.code, message: r.message };
            job.state = 'failed';
          }
        },
        (err: unknown) => {
          job.error = { code: 'CAT_FETCH_FAILED', message: `import stopped: ${(err as Error).message}` };
          job.state = 'failed';
        },
      )
      .finally(() => this.controllers.delete(controller));
    return job;
  }

  /** Stops every running import (node shutdown); their part files stay for a resume. */
  close(): void {
    for (const c of this.controllers) c.abort(new Error('node closing'));
  }
}

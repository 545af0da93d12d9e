import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { type Command, exitCode, UsageError } from '../command.ts';

const usage = `swarmcast import <feed URL or file> [options]

Moves a show to a running node from its RSS feed (RSS 2.0 with the iTunes and Podcasting
2.0 namespaces): the show, its artwork and settings, then every episode with its GUID,
date, show notes, season and number, artwork and chapters; each enclosure is fetched,
published on BitTorrent and seeded. Run it again to fetch only new or failed episodes.

  --slug SLUG        the show's address on the node (default: from the feed's title)
  --concurrency N    enclosures fetched at once, 1 or 2 (default 1: polite to the old host)
  --node URL         the node (default $SWARMCAST_NODE or http://127.0.0.1:$PORT|8080)
  --token TOKEN      API token from the dashboard (default $SWARMCAST_TOKEN)
  --json             print the final report as JSON

Exit code 0 when every episode is here, 1 when some failed (listed; run again to retry).`;

interface Job {
  id: string;
  state: 'running' | 'done' | 'failed';
  show: { slug: string; title: string } | null;
  alreadyHere: number;
  episodes: Array<{
    guid: string;
    title: string;
    state: string;
    bytes: number;
    total: number | null;
    error: string | null;
  }>;
  error: { code: string; message: string } | null;
  report: {
    failed: Array<{ title: string; error: string }>;
    imported: Array<{ title: string; warnings: string[] }>;
    skipped: Array<{ title: string; reason: string }>;
    warnings: string[];
  } | null;
}

const command: Command = {
  summary: 'move a show in from its RSS feed (URL or file)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        slug: { type: 'string' },
        concurrency: { type: 'string', default: '1' },
        node: { type: 'string' },
        token: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    });
    const source = positionals[0];
    if (!source || positionals.length > 1) throw new UsageError('give exactly one feed URL or file');
    if (values.concurrency !== '1' && values.concurrency !== '2')
      throw new UsageError('--concurrency is 1 or 2');
    const token = values.token ?? io.env.SWARMCAST_TOKEN;
    if (!token) throw new UsageError('--token (or SWARMCAST_TOKEN) is required: create one on the dashboard');
    const node = (
      values.node ??
      io.env.SWARMCAST_NODE ??
      `http://127.0.0.1:${io.env.PORT ?? '8080'}`
    ).replace(/\/+$/, '');
    const body: Record<string, unknown> = { concurrency: Number(values.concurrency) };
    if (values.slug) body.slug = values.slug;
    if (/^https?:\/\//i.test(source)) body.url = source;
    else {
      try {
        body.xml = await readFile(source, 'utf8');
      } catch (err) {
        io.stderr.write(`swarmcast import: cannot read ${source}: ${(err as Error).message}\n`);
        return exitCode.failure;
      }
    }
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    let res: Response;
    try {
      res = await fetch(`${node}/api/imports`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: io.signal,
      });
    } catch (err) {
      io.stderr.write(`swarmcast import: cannot reach ${node}: ${(err as Error).message}\n`);
      return exitCode.failure;
    }
    let job = (await res.json().catch(() => ({}))) as Job;
    if (res.status !== 202) {
      io.stderr.write(
        `swarmcast import: refused (${res.status} ${job.error?.code ?? ''}): ${job.error?.message ?? 'no reason given'}\n`,
      );
      return exitCode.failure;
    }
    const said = new Map<string, string>();
    const report = (j: Job) => {
      if (values.json) return;
      for (const e of j.episodes) {
        const line =
          e.state === 'fetching'
            ? `fetching  ${e.title}: ${e.total ? `${Math.floor((100 * e.bytes) / e.total)}%` : `${e.bytes} bytes`}`
            : e.state === 'done'
              ? `imported  ${e.title}`
              : e.state === 'failed'
                ? `FAILED    ${e.title}: ${e.error}`
                : '';
        // Progress lines only when the percentage moved, so a log stays short.
        if (line && said.get(e.guid) !== line) {
          said.set(e.guid, line);
          io.stderr.write(`${line}\n`);
        }
      }
    };
    // The node runs the import; we follow it until it ends (Ctrl-C stops following, not the import).
    while (job.state === 'running') {
      report(job);
      await sleep(500, undefined, { signal: io.signal }).catch(() => {});
      if (io.signal.aborted) {
        io.stderr.write(`stopped following; the import goes on at ${node}/dashboard/imports/${job.id}\n`);
        return exitCode.failure;
      }
      const r = await fetch(`${node}/api/imports/${job.id}`, { headers, signal: io.signal });
      job = (await r.json()) as Job;
    }
    report(job);
    if (values.json) io.stdout.write(`${JSON.stringify(job)}\n`);
    if (job.state === 'failed') {
      io.stderr.write(`swarmcast import: ${job.error?.code}: ${job.error?.message}\n`);
      return exitCode.failure;
    }
    const r = job.report;
    if (!values.json && r) {
      io.stdout.write(
        `show: ${node}/shows/${job.show?.slug}\nimported ${r.imported.length}, already here ${job.alreadyHere}, failed ${r.failed.length}, skipped ${r.skipped.length}\n`,
      );
      for (const s of r.skipped) io.stdout.write(`skipped ${s.title}: ${s.reason}\n`);
      for (const w of r.warnings) io.stdout.write(`warning: ${w}\n`);
      for (const i of r.imported) for (const w of i.warnings) io.stdout.write(`warning: ${i.title}: ${w}\n`);
      for (const f of r.failed) io.stdout.write(`failed ${f.title}: ${f.error}\n`);
    }
    return r && r.failed.length > 0 ? exitCode.failure : exitCode.ok;
  },
};
export default command;

import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { scratchDir } from '@swarmcast/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

/**
 * `swarmcast up` as an operator runs it, through the installed bin (a wrapper process around
 * the node): a signal to the command's pid stops the real node within a bound, frees the
 * port, and says so, even with a browser's WebSocket still open.
 */
const bin = join(import.meta.dirname, '..', 'bin', 'swarmcast.js');
const children: ChildProcess[] = [];
const dirs: Array<{ remove(): Promise<void> }> = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) await d.remove();
});

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('swarmcast up and signals', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s to the command stops the node (WebSocket open) within the bound and frees the port',
    async (sig) => {
      const dir = await scratchDir('up-signal-');
      dirs.push(dir);
      const child = spawn(
        process.execPath,
        [bin, 'up', '--port', '0', '--data', dir.path, '--no-demo', '--log-level', 'info'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      children.push(child);
      let out = '';
      let err = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (err += d));
      const exited = new Promise<{ code: number | null; signal: string | null; at: number }>((r) =>
        child.once('exit', (code, signal) => r({ code, signal, at: Date.now() })),
      );
      const url = await new Promise<string>((resolve, reject) => {
        const onData = () => {
          const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
          if (m) resolve(m[0]);
        };
        child.stdout!.on('data', onData);
        void exited.then(() => reject(new Error(`node exited before it was up: ${out}${err}`)));
      });
      const port = Number(new URL(url).port);
      // A request line is logged: method, path, status; not the address or user agent.
      await (await fetch(`${url}healthz`, { headers: { 'user-agent': 'UniqueAgent/9.9' } })).text();
      // A browser session: a WebSocket to the tracker that never says goodbye.
      const ws = new WebSocket(`${url.replace('http', 'ws')}announce`);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      ws.on('error', () => {});
      const sentAt = Date.now();
      child.kill(sig);
      const end = await exited;
      const tookMs = end.at - sentAt;
      console.log(`[fault ${sig}] node stopped in ${tookMs} ms; exit ${end.code ?? end.signal}`);
      expect(end.code).toBe(0);
      expect(tookMs).toBeLessThan(12_000);
      expect(out).toContain('Swarmcast node stopping');
      expect(out).toMatch(/Swarmcast node stopped in \d+ ms/);
      expect(await portOpen(port)).toBe(false);
      const lines = err.split('\n').filter((l) => l.startsWith('{'));
      const request = lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.path === '/healthz');
      expect(request).toMatchObject({ level: 30, method: 'GET', path: '/healthz', status: 200 });
      expect(err).not.toContain('UniqueAgent');
      expect(err).not.toMatch(/remoteAddress|remotePort|"ip"|"hostname":"127/);
    },
    90_000,
  );
});

/**
 * A throwaway nginx (Debian `nginx`) as the reverse proxy in front of a node, configured as
 * docs/operations.md tells an operator: it adds the client to X-Forwarded-For and connects to
 * the node from `bindAddress`, the address the node is told to trust. Everything it writes
 * (pid, logs, temp files) stays in a scratch folder; ready once its port accepts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort, waitFor } from './scratch.ts';

export interface NginxOptions {
  /** Scratch folder for its configuration, pid and logs. */
  dir: string;
  /**
   * The node behind it, e.g. `http://127.0.0.1:8080`; or several node processes (host:port
   * each), balanced round-robin, a request that cannot reach one retried on the next.
   */
  upstream: string | string[];
  /** Port to listen on (default a free one). */
  port?: number;
  /** Address nginx connects to the upstream from (proxy_bind; default 127.0.0.1). */
  bindAddress?: string;
  /** Where it listens (default 127.0.0.1 on a free port). */
  listenHost?: string;
}

export interface Nginx {
  readonly url: string;
  readonly process: ChildProcess;
  /** Everything it logged (for a failing test's message). */
  log(): string;
  close(): Promise<void>;
}

export async function startNginx(o: NginxOptions): Promise<Nginx> {
  const host = o.listenHost ?? '127.0.0.1';
  const port = o.port ?? (await freePort());
  // One upstream block either way, so nginx keeps its connections to the nodes open
  // (keepalive + HTTP/1.1 + an empty Connection header): without it every proxied request
  // was a new TCP connection to the node, and beacons through the proxy cost the node ~3x the
  // CPU of the same beacons sent straight to it (scaling bench, 1,221 vs 4,379/s).
  // Several processes: the proxy retries what failed to connect or broke before an answer.
  // max_fails=0: never mark a process down for a while (nginx's default marks one down for
  // 10 s after one failure, so a process that was still starting would stay shunned after it
  // is up, and a kill of the other then left no live upstream); a refused connect is instant.
  const pool = Array.isArray(o.upstream) ? o.upstream : [new URL(o.upstream).host];
  const upstreamBlock = `upstream swarmcast_nodes {\n${pool.map((a) => `    server ${a} max_fails=0;`).join('\n')}\n    keepalive 32;\n  }`;
  const passTo = 'http://swarmcast_nodes';
  const conf = join(o.dir, 'nginx.conf');
  await writeFile(
    conf,
    `worker_processes 1;
pid ${join(o.dir, 'nginx.pid')};
error_log ${join(o.dir, 'error.log')} warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${join(o.dir, 'body')};
  proxy_temp_path ${join(o.dir, 'proxy')};
  fastcgi_temp_path ${join(o.dir, 'fastcgi')};
  uwsgi_temp_path ${join(o.dir, 'uwsgi')};
  scgi_temp_path ${join(o.dir, 'scgi')};
  ${upstreamBlock}
  server {
    listen ${host}:${port};
    location / {
      proxy_pass ${passTo};
      proxy_next_upstream error timeout http_502 http_503;
      proxy_connect_timeout 2s;
      proxy_bind ${o.bindAddress ?? '127.0.0.1'};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host:$server_port;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`,
  );
  const child = spawn('nginx', ['-p', o.dir, '-c', conf, '-g', 'daemon off;'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => (output += String(d)));
  child.stderr?.on('data', (d) => (output += String(d)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`nginx exited ${child.exitCode}: ${output}`);
        return new Promise<boolean>((resolve) => {
          const s = connect({ host, port });
          s.once('connect', () => {
            s.destroy();
            resolve(true);
          });
          s.once('error', () => resolve(false));
        });
      },
      30_000,
      'nginx to listen',
    );
  } catch (err) {
    await close();
    throw err;
  }
  return { url: `http://${host}:${port}`, process: child, log: () => output, close };
}

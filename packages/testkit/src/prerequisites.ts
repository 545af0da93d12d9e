import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';

/**
 * Interop and service tests need real programs and servers. On a developer machine that
 * lacks them the test is skipped with a printed reason; under CI (SWARMCAST_REQUIRE_INTEROP=1,
 * SWARMCAST_REQUIRE_SERVICES=1) a missing prerequisite fails the run instead, so that a
 * green CI can never mean "nothing ran".
 */
export interface Prerequisite {
  /** True when the test must be skipped. */
  skip: boolean;
  /** Why it is skipped (empty when it runs). */
  reason: string;
}

type Kind = 'interop' | 'services';

const requireVar: Record<Kind, string> = {
  interop: 'SWARMCAST_REQUIRE_INTEROP',
  services: 'SWARMCAST_REQUIRE_SERVICES',
};

function decide(kind: Kind, missing: string[], what: string): Prerequisite {
  if (missing.length === 0) return { skip: false, reason: '' };
  const reason = `${what}: missing ${missing.join(', ')}`;
  if (process.env[requireVar[kind]] === '1') {
    throw new Error(`${reason}, and ${requireVar[kind]}=1 makes it mandatory. Install it (see .ci/run).`);
  }
  console.warn(`[skip] ${reason} (set ${requireVar[kind]}=1 to make this a failure)`);
  return { skip: true, reason };
}

export function which(binary: string): string | null {
  try {
    return (
      execFileSync('sh', ['-c', `command -v ${JSON.stringify(binary)}`], { encoding: 'utf8' }).trim() || null
    );
  } catch {
    return null;
  }
}

/** Reference clients (aria2c, qbittorrent-nox, transmission-daemon, mktorrent, opentracker, chromium...). */
export function requireBinaries(what: string, ...binaries: string[]): Prerequisite {
  return decide(
    'interop',
    binaries.filter((b) => which(b) === null),
    what,
  );
}

export type Service = 'postgres' | 'redis' | 'nats';

/** Where tests find each real server; SWARMCAST_TEST_*_URL overrides the local default. */
export function serviceUrl(service: Service): string {
  const env = process.env;
  switch (service) {
    case 'postgres':
      return env.SWARMCAST_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
    case 'redis':
      return env.SWARMCAST_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
    case 'nats':
      return env.SWARMCAST_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
  }
}

function reachable(url: string, timeoutMs = 1000): Promise<boolean> {
  const u = new URL(url);
  const port = Number(u.port) || { 'postgres:': 5432, 'redis:': 6379, 'nats:': 4222 }[u.protocol] || 0;
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Real PostgreSQL, Redis or NATS on 127.0.0.1 (see the env skill for how to start one). */
export async function requireServices(what: string, ...services: Service[]): Promise<Prerequisite> {
  const missing: string[] = [];
  for (const s of services) if (!(await reachable(serviceUrl(s)))) missing.push(`${s} at ${serviceUrl(s)}`);
  return decide('services', missing, what);
}

import { execFileSync } from 'node:child_process';
import type { Prerequisite } from '@swarmcast/testkit';

const python = '/usr/bin/python3';

/**
 * libtorrent's Python bindings (Debian python3-libtorrent) as a test prerequisite: skipped
 * with a reason locally, a failure under CI (SWARMCAST_REQUIRE_INTEROP=1), like requireBinaries.
 */
export function requireLibtorrent(what: string): Prerequisite {
  try {
    execFileSync(python, ['-c', 'import libtorrent'], { stdio: 'pipe' });
    return { skip: false, reason: '' };
  } catch {
    const reason = `${what}: missing python3-libtorrent`;
    if (process.env.SWARMCAST_REQUIRE_INTEROP === '1')
      throw new Error(`${reason}, and SWARMCAST_REQUIRE_INTEROP=1 makes it mandatory (see .ci/run)`);
    console.warn(`[skip] ${reason}`);
    return { skip: true, reason };
  }
}

/** Runs a Python snippet with libtorrent imported as `lt`; returns its stdout. */
export function libtorrent(script: string, args: string[] = []): string {
  return execFileSync(python, ['-c', `import libtorrent as lt, sys\n${script}`, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, scratchDir, waitFor } from '@swarmcast/testkit';
import { toHex } from '../src/index.ts';

/**
 * Debian's opentracker on 127.0.0.1 for tests (see INTEROP.md): whitelist-only, so the
 * hashes a test uses are written to its whitelist; as root it chroots into its dir and
 * drops to nobody, hence the world-readable files; -i comes before -p/-P.
 */
export async function startOpentracker(hashes: readonly Uint8Array[]) {
  const dir = await scratchDir('swarmcast-opentracker-');
  chmodSync(dir.path, 0o755);
  writeFileSync(join(dir.path, 'whitelist.txt'), `${hashes.map(toHex).join('\n')}\n`);
  chmodSync(join(dir.path, 'whitelist.txt'), 0o644);
  const port = await freePort();
  const child: ChildProcess = spawn(
    'opentracker',
    ['-i', '127.0.0.1', '-p', String(port), '-P', String(port), '-d', dir.path, '-w', '/whitelist.txt'],
    { stdio: 'ignore' },
  );
  await waitFor(
    async () => {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/stats`);
        await r.arrayBuffer();
        return true;
      } catch {
        return false;
      }
    },
    10_000,
    'opentracker to listen',
  );
  return {
    port,
    http: `http://127.0.0.1:${port}/announce`,
    udp: `udp://127.0.0.1:${port}/announce`,
    async stop() {
      child.kill('SIGKILL');
      await dir.remove();
    },
  };
}

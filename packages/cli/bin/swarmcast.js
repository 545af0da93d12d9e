#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so there is no build step; worker
// threads started by the engine inherit the loader through execArgv. The node runs in a
// child process: every signal this process gets is passed on to it, and this process exits
// with the child's status (or re-raises the child's fatal signal), so `kill <pid>` and
// Ctrl-C stop the real node, not only this wrapper.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const tsx = import.meta.resolve('tsx');
const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const child = spawn(process.execPath, ['--import', tsx, main, ...process.argv.slice(2)], {
  stdio: 'inherit',
});
const forwarded = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGBREAK', 'SIGWINCH'];
for (const sig of forwarded) {
  try {
    process.on(sig, () => {
      // Ctrl-C in a terminal reaches the child too; it ignores the same signal repeated
      // within a second, so passing it on is never a "second Ctrl-C".
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    });
  } catch {
    // A signal this platform does not have.
  }
}
child.on('error', (err) => {
  process.stderr.write(`swarmcast: cannot start node: ${err.message}\n`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  if (signal) {
    for (const sig of forwarded) process.removeAllListeners(sig);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
});

#!/usr/bin/env node
// Runs the CLI built at install time (dist/swarmcast.mjs: `prepare` and `npm start` run
// scripts/build.mjs) in this process while that build is current: no TypeScript loader and no
// second process (through tsx `swarmcast create --help` cost 1.1-1.6 s of CPU, the build 0.2 s).
// When a source file is newer than the build (someone is editing) or there is no build, it runs
// the sources through tsx as before: the node runs in a child process, every signal this
// process gets is passed on to it, and this process exits with the child's status (or
// re-raises the child's fatal signal), so `kill <pid>` and Ctrl-C stop the real node, not
// only this wrapper.
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** The build exists and none of its sources (dist/sources.json, ~430 files) changed since. */
function buildIsCurrent() {
  try {
    const { builtAt, sources } = JSON.parse(readFileSync(join(root, 'dist', 'sources.json'), 'utf8'));
    return sources.every((s) => statSync(join(root, s)).mtimeMs < builtAt);
  } catch {
    return false; // no build yet, or a source file gone
  }
}

if (buildIsCurrent()) {
  const cli = join(root, 'dist', 'swarmcast.mjs');
  // the CLI runs its main when it is the program being run (process.argv[1])
  process.argv[1] = cli;
  await import(pathToFileURL(cli).href);
} else {
  runSources();
}

function runSources() {
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
}

import { type Command, type CommandIo, exitCode, UsageError } from './command.ts';
import { commandModules } from './commands/registry.ts';

function commandNames(): string[] {
  return Object.keys(commandModules).sort();
}

async function load(name: string): Promise<Command | null> {
  if (!Object.hasOwn(commandModules, name)) return null;
  return (await commandModules[name]!()).default;
}

async function help(io: CommandIo): Promise<void> {
  const lines = ['usage: swarmcast <command> [options]', '', 'commands:'];
  for (const name of commandNames()) {
    const c = await load(name);
    if (c) lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  }
  lines.push('', 'swarmcast <command> --help shows the options of one command.');
  io.stdout.write(`${lines.join('\n')}\n`);
}

export async function main(argv: string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    await help(io);
    return name ? exitCode.ok : exitCode.usage;
  }
  const command = await load(name);
  if (!command) {
    io.stderr.write(`swarmcast: unknown command "${name}". Run "swarmcast --help" for the list.\n`);
    return exitCode.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${command.usage.trim()}\n`);
    return exitCode.ok;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      io.stderr.write(`swarmcast ${name}: ${(err as Error).message}\n${command.usage.trim()}\n`);
      return exitCode.usage;
    }
    throw err;
  }
}

/** How long a command may take to stop after SIGINT/SIGTERM before the process exits anyway. */
export const shutdownBoundMs = 10_000;

if (import.meta.url === `file://${process.argv[1]}`) {
  const controller = new AbortController();
  let firstAt = 0;
  let firstSignal = '';
  const onSignal = (sig: NodeJS.Signals) => {
    const now = Date.now();
    if (!controller.signal.aborted) {
      firstAt = now;
      firstSignal = sig;
      controller.abort(new Error(sig));
      // Whatever a command still waits on (a peer, a browser's WebSocket), the process is
      // gone within the bound, and says so.
      setTimeout(() => {
        process.stderr.write(
          `swarmcast: still stopping ${shutdownBoundMs / 1000} s after ${sig}; exiting now\n`,
        );
        process.exit(exitCode.failure);
      }, shutdownBoundMs).unref();
      return;
    }
    // The same signal again within a second is the terminal's copy of one Ctrl-C (the
    // process group and the bin wrapper both pass it on), not a second request.
    if (sig === firstSignal && now - firstAt < 1000) return;
    process.stderr.write(`swarmcast: ${sig} again; exiting without a clean stop\n`);
    process.exit(exitCode.failure);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
  const io: CommandIo = {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal: controller.signal,
  };
  // A finished command exits even if a socket or timer it forgot still holds the event loop
  // (given a moment to flush its output).
  const finish = (code: number) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 2000).unref();
  };
  main(process.argv.slice(2), io).then(finish, (err: unknown) => {
    // A coded platform error is for the operator (start NATS, fix a setting): its message
    // says it all; anything else is a bug and keeps its stack.
    const coded = err instanceof Error && err.name === 'PlatformError';
    process.stderr.write(
      `swarmcast: ${err instanceof Error ? (coded ? err.message : (err.stack ?? err.message)) : String(err)}\n`,
    );
    finish(exitCode.failure);
  });
}

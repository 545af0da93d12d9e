import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, type CommandIo, exitCode, UsageError } from './command.ts';

const commandsDir = join(import.meta.dirname, 'commands');

function commandNames(): string[] {
  return readdirSync(commandsDir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function load(name: string): Promise<Command | null> {
  if (!/^[a-z][a-z-]*$/.test(name) || !commandNames().includes(name)) return null;
  const mod = (await import(join(commandsDir, `${name}.ts`))) as { default: Command };
  return mod.default;
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

if (import.meta.url === `file://${process.argv[1]}`) {
  const controller = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => controller.abort(new Error(sig)));
  }
  const io: CommandIo = {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal: controller.signal,
  };
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`swarmcast: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = exitCode.failure;
    },
  );
}

/**
 * A `swarmcast` sub-command. Each lives in src/commands/<name>.ts and default-exports one
 * of these, so that adding a command touches no shared file.
 */
export interface Command {
  /** One line for `swarmcast --help`. */
  summary: string;
  /** Full usage text for `swarmcast <name> --help`. */
  usage: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[], io: CommandIo): Promise<number>;
}

export interface CommandIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM: long-running commands stop cleanly. */
  signal: AbortSignal;
}

/** Exit codes shared by all commands. */
export const exitCode = {
  ok: 0,
  /** Something failed at run time (network, verification, I/O). */
  failure: 1,
  /** The command line was wrong. */
  usage: 2,
} as const;

/** An error the user can act on: printed without a stack trace. */
export class UsageError extends Error {
  override name = 'UsageError';
}

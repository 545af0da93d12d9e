import { createRequire } from 'node:module';
import type { SessionStats } from '@swarmcast/bittorrent';
import type CliProgress from 'cli-progress';
import type { CommandIo } from './command.ts';
import { UsageError } from './command.ts';

/**
 * The progress-bar library, required when a bar is drawn: the CLI is one bundle, and an
 * import would load it into every process, `swarmcast up` included.
 */
export const progressBars = (): typeof CliProgress =>
  createRequire(import.meta.url)('cli-progress') as typeof CliProgress;

/** How `get` and `seed` report progress: a bar on a terminal, plain lines otherwise, JSON lines with --json. */
export interface TransferOutput {
  progress(stats: SessionStats): void;
  event(kind: string, fields: Record<string, unknown>, text: string): void;
  stop(): void;
}

const mib = (n: number) => (n / 1048576).toFixed(1);

export function transferOutput(io: CommandIo, json: boolean, totalBytes: number): TransferOutput {
  if (json) {
    return {
      progress: (s) => io.stdout.write(`${JSON.stringify({ event: 'progress', ...s })}\n`),
      event: (kind, fields) => io.stdout.write(`${JSON.stringify({ event: kind, ...fields })}\n`),
      stop() {},
    };
  }
  if (io.stderr.isTTY) {
    const bar = new (progressBars().SingleBar)(
      {
        format:
          '[{bar}] {percentage}% | {done}/{total} MiB | {rate} MiB/s down {up} MiB/s up | {peers} peers',
        stream: io.stderr,
        hideCursor: true,
      },
      progressBars().Presets.shades_classic,
    );
    bar.start(totalBytes, 0, { done: '0', total: mib(totalBytes), rate: '0', up: '0', peers: 0 });
    return {
      progress: (s) =>
        bar.update(s.verifiedBytes, {
          done: mib(s.verifiedBytes),
          rate: mib(s.downloadRate),
          up: mib(s.uploadRate),
          peers: s.peers,
        }),
      event: (_k, _f, text) => {
        bar.stop();
        io.stdout.write(`${text}\n`);
      },
      stop: () => bar.stop(),
    };
  }
  let lastTenth = -1;
  return {
    progress(s) {
      const tenth = totalBytes === 0 ? 10 : Math.floor((s.verifiedBytes / totalBytes) * 10);
      if (tenth > lastTenth) {
        lastTenth = tenth;
        io.stderr.write(
          `${tenth * 10}% ${mib(s.verifiedBytes)}/${mib(totalBytes)} MiB, ${mib(s.downloadRate)} MiB/s, ${s.peers} peers\n`,
        );
      }
    },
    event: (_k, _f, text) => io.stdout.write(`${text}\n`),
    stop() {},
  };
}

/** "host:port" or "[v6]:port" as a peer address. */
export function parsePeer(text: string): { host: string; port: number } | undefined {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[2]);
  return port > 0 && port < 65536 ? { host: m[1]!, port } : undefined;
}

/** `--encryption prefer|require|off` (protocol encryption, MSE/PE); undefined when not given. */
export function parseEncryption(text: string | undefined): 'prefer' | 'require' | 'off' | undefined {
  if (text === undefined) return undefined;
  if (text === 'prefer' || text === 'require' || text === 'off') return text;
  throw new UsageError(`--encryption must be prefer, require or off (got "${text}")`);
}

/**
 * `--utp`: uTP (BEP 29) beside TCP, dialled first; `--utp-only`: uTP alone. Undefined (the
 * engine's default, TCP) when neither is given.
 */
export function parseTransports(utp: boolean, utpOnly: boolean): ('tcp' | 'utp')[] | undefined {
  if (utp && utpOnly) throw new UsageError('give --utp or --utp-only, not both');
  return utpOnly ? ['utp'] : utp ? ['utp', 'tcp'] : undefined;
}

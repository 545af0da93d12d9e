import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createNodeServer } from '@swarmcast/web';
import { type Command, exitCode, UsageError } from '../command.ts';

const usage = `swarmcast up [--port N] [--host H] [--data DIR]

Runs a whole node on one port: portal, API, origin, tracker (HTTP and WebSocket on TCP N,
UDP on N) and the seeder. State lives under DIR (default ./.data): PGlite database and
media files, unless DATABASE_URL points at PostgreSQL.

  --port N     TCP and UDP port (default $PORT or 8080; 0 picks a free one)
  --host H     address to listen on (default 127.0.0.1)
  --data DIR   data directory (default ./.data)`;

function parsePort(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new UsageError(`--port must be 0..65535, not "${text}"`);
  return n;
}

const command: Command = {
  summary: 'run a whole node (portal, API, origin, tracker, seeder)',
  usage,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        data: { type: 'string', default: './.data' },
      },
      strict: true,
    });
    const port = parsePort(values.port ?? io.env.PORT ?? '8080');
    const dataDir = resolve(values.data);
    await mkdir(dataDir, { recursive: true });
    const app = await createNodeServer({ dataDir, logger: false });
    try {
      await app.listen({ port, host: values.host });
    } catch (err) {
      await app.close();
      const code = (err as { code?: string }).code;
      if (code === 'EADDRINUSE' || code === 'EACCES') {
        io.stderr.write(`swarmcast up: cannot listen on ${values.host}:${port} (${code}); try --port\n`);
        return exitCode.failure;
      }
      throw err;
    }
    const address = app.server.address();
    const actual = typeof address === 'object' && address ? address.port : port;
    const shownHost = values.host === '0.0.0.0' || values.host === '::' ? '127.0.0.1' : values.host;
    io.stdout.write(`Swarmcast node up at http://${shownHost}:${actual}/ (data in ${dataDir})\n`);
    if (!io.signal.aborted) {
      await new Promise<void>((done) => io.signal.addEventListener('abort', () => done(), { once: true }));
    }
    await app.close();
    io.stdout.write('Swarmcast node stopped\n');
    return exitCode.ok;
  },
};
export default command;

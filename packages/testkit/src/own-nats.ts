import { type ChildProcess, spawn } from 'node:child_process';

/**
 * A nats-server (JetStream, file store) the test owns, on its own port, so a fault test can
 * kill it (SIGKILL) and start it again on the same store without touching the shared one.
 */
export interface OwnNats {
  readonly url: string;
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port and store; resolves when it is ready. */
  restart(): Promise<void>;
  /** Kills it if it runs (for `finally`). */
  stop(): Promise<void>;
}

function startOne(port: number, storeDir: string): Promise<ChildProcess> {
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stderr!.on('data', (d) => {
      out += String(d);
      if (out.includes('Server is ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`nats-server exited with ${code}: ${out}`)));
  });
}

export async function ownNats(port: number, storeDir: string): Promise<OwnNats> {
  let child: ChildProcess = await startOne(port, storeDir);
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    kill,
    async restart() {
      await kill();
      child = await startOne(port, storeDir);
    },
    stop: kill,
  };
}

import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** What lt-peer.py says, one JSON object a line. */
interface LtLine {
  port?: number;
  progress?: number;
  done?: boolean;
  error?: string;
  peers?: number;
  uploaded?: number;
}

export interface LtPeerOptions {
  /** Path of a .torrent, or a magnet link. */
  readonly torrent?: string;
  readonly magnet?: string;
  /** Folder with the data (seed) or to download into. */
  readonly save: string;
  readonly seed: boolean;
  readonly peers?: readonly { host: string; port: number }[];
  readonly seconds?: number;
  /** `require`: MSE/PE with RC4 only, both ways. */
  readonly encryption?: 'require';
}

/** A libtorrent 2.0 peer (python3-libtorrent) in a child process, driven by lt-peer.py. */
export class LtPeer {
  readonly lines: LtLine[] = [];
  private readonly child: ChildProcess;
  private readonly waiters: Array<() => void> = [];
  private stderr = '';
  exited = false;

  private constructor(options: LtPeerOptions) {
    const cfg = {
      ...(options.torrent ? { torrent: options.torrent } : {}),
      ...(options.magnet ? { magnet: options.magnet } : {}),
      save: options.save,
      seed: options.seed,
      peers: (options.peers ?? []).map((p) => [p.host, p.port]),
      seconds: options.seconds ?? 120,
      ...(options.encryption ? { encryption: options.encryption } : {}),
    };
    this.child = spawn('/usr/bin/python3', [join(import.meta.dirname, 'lt-peer.py'), JSON.stringify(cfg)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        this.lines.push(JSON.parse(line) as LtLine);
      } catch {
        this.lines.push({ error: `unparsable line: ${line}` });
      }
      this.wake();
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.child.on('exit', () => {
      this.exited = true;
      this.wake();
    });
  }

  static async start(options: LtPeerOptions): Promise<LtPeer & { port: number }> {
    const peer = new LtPeer(options);
    const first = await peer.until((l) => l.port !== undefined, 'libtorrent listening');
    return Object.assign(peer, { port: first.port as number });
  }

  /** Resolves with the first line that matches; rejects when the process exits first. */
  until(match: (l: LtLine) => boolean, what: string): Promise<LtLine> {
    return new Promise((resolve, reject) => {
      const look = () => {
        const hit = this.lines.find(match);
        if (hit) return resolve(hit);
        if (this.exited) {
          const last = this.lines.slice(-3).map((l) => JSON.stringify(l));
          return reject(
            new Error(`libtorrent exited before: ${what}; last said ${last.join(' ')}; ${this.stderr}`),
          );
        }
        this.waiters.push(look);
      };
      look();
    });
  }

  /** The download completed (every piece verified by libtorrent). */
  done(): Promise<LtLine> {
    return this.until((l) => l.done === true, 'download done');
  }

  last(): LtLine | undefined {
    return this.lines.at(-1);
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(timer);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

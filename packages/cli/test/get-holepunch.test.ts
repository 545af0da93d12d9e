import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { encodeBencode } from '@swarmcast/bittorrent';
import { createNatLab, type NatLab, natLabPrerequisite, scratchDir } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * BEP 55 hole punching in the NAT lab: two homes behind port-restricted NATs (no port
 * forwarded, unsolicited inbound dropped), each running `swarmcast get --utp-only`, and a
 * third `swarmcast get` in the public namespace that both dial. The relay only ever holds the
 * torrent's first file (--files 0, piece-aligned); home A seeds both, home B wants the second
 * file only: B can get it from A alone, which it cannot dial until the relay introduces them.
 */
const lab0 = natLabPrerequisite();
const bin = join(import.meta.dirname, '..', 'bin', 'swarmcast.js');

interface Proc {
  child: ChildProcess;
  events: Record<string, unknown>[];
  until(
    pred: (e: Record<string, unknown>) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  exit: Promise<number | null>;
  err: () => string;
}

describe.skipIf(lab0.skip)('swarmcast get: two homes behind NATs trade through the public relay', () => {
  let lab: NatLab;
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  const procs: Proc[] = [];
  beforeAll(async () => {
    dir = await scratchDir('swarmcast-holepunch-');
    lab = await createNatLab([{ nat: 'port-restricted' }, { nat: 'port-restricted' }]);
  }, 60_000);
  afterAll(async () => {
    for (const p of procs) p.child.kill('SIGTERM');
    await lab?.close();
    await dir?.remove();
  }, 60_000);

  function start(ns: string, args: string[]): Proc {
    const child = lab.spawnIn(ns, process.execPath, [bin, 'get', ...args, '--json']);
    let err = '';
    child.stderr?.on('data', (d) => {
      err = (err + d).slice(-4000);
    });
    const events: Record<string, unknown>[] = [];
    const waiters = new Set<() => void>();
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      try {
        events.push(JSON.parse(line));
      } catch {
        return;
      }
      for (const w of waiters) w();
    });
    const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const p: Proc = {
      child,
      events,
      exit,
      err: () => err,
      until: (pred, what, timeoutMs = 60_000) =>
        new Promise((resolve, reject) => {
          const check = () => {
            const e = events.find(pred);
            if (!e) return;
            waiters.delete(check);
            clearTimeout(timer);
            resolve(e);
          };
          const timer = setTimeout(() => {
            waiters.delete(check);
            reject(new Error(`no ${what}: ${JSON.stringify(events.slice(-20))} ${err}`));
          }, timeoutMs);
          waiters.add(check);
          void exit.then((code) => {
            if (!waiters.has(check)) return;
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`exited ${code} before ${what}: ${err}`));
          });
          check();
        }),
    };
    procs.push(p);
    return p;
  }

  it('B downloads from A directly, with no port forwarded, once the relay put them in touch', async () => {
    const pieceLength = 64 * 1024;
    const first = randomBytes(4 * pieceLength);
    const second = randomBytes(1_000_000);
    const all = Buffer.concat([first, second]);
    const hashes: Buffer[] = [];
    for (let o = 0; o < all.length; o += pieceLength)
      hashes.push(
        createHash('sha1')
          .update(all.subarray(o, o + pieceLength))
          .digest(),
      );
    const enc = (s: string) => new TextEncoder().encode(s);
    const info = {
      files: [
        { length: first.length, path: [enc('intro.mp3')] },
        { length: second.length, path: [enc('episode.mp3')] },
      ],
      name: enc('show'),
      'piece length': pieceLength,
      pieces: new Uint8Array(Buffer.concat(hashes)),
    };
    const torrentPath = join(dir.path, 'show.torrent');
    await writeFile(torrentPath, encodeBencode({ info } as never));
    const aDir = join(dir.path, 'a');
    await mkdir(join(aDir, 'show'), { recursive: true });
    await writeFile(join(aDir, 'show', 'intro.mp3'), first);
    await writeFile(join(aDir, 'show', 'episode.mp3'), second);

    // The relay, public: holds (and will only ever hold) the first file.
    const relay = start(lab.publicNs, [
      torrentPath,
      '-o',
      join(dir.path, 'r'),
      '--files',
      '0',
      '--seed',
      '--no-port-mapping',
      '--utp-only',
      '--host',
      lab.serviceIp,
      '--port',
      '36881',
    ]);
    await relay.until((e) => e.event === 'started', 'relay started');
    const relayPeer = `${lab.serviceIp}:36881`;
    const [homeA, homeB] = lab.homes as [(typeof lab.homes)[0], (typeof lab.homes)[0]];

    const a = start(homeA.ns, [
      torrentPath,
      '-o',
      aDir,
      '--seed',
      '--no-port-mapping',
      '--utp-only',
      '--peer',
      relayPeer,
    ]);
    await a.until((e) => e.event === 'seeding', 'A seeding');
    // The relay gets its file from A (A dialled out to it).
    await relay.until((e) => e.event === 'done', 'relay done with the first file');

    const bDir = join(dir.path, 'b');
    const b = start(homeB.ns, [
      torrentPath,
      '-o',
      bDir,
      '--files',
      '1',
      '--utp-only',
      '--peer',
      relayPeer,
      '--timeout',
      '90',
    ]);
    expect(await b.exit, b.err()).toBe(0);
    expect(await readFile(join(bDir, 'show', 'episode.mp3'))).toEqual(second);
    // How the NATs opened: both homes learnt of each other by PEX from the relay and dialled
    // at once (their uTP SYNs open each NAT for the other), or one dial failed first and the
    // relay introduced them (BEP 55 rendezvous, then both dial on its `connect`).
    const relayed = relay.events.filter((e) => e.event === 'holepunch' && e.kind === 'relayed');
    for (const r of relayed) {
      const pair = [r.address, r.other].map((x) => String(x).split(':')[0]).sort();
      expect(pair).toEqual([homeA.publicIp, homeB.publicIp].sort());
    }
    console.log(
      `[holepunch] B got the second file from A behind two NATs; BEP 55 introductions by the relay: ${relayed.length}`,
    );
  }, 180_000);
});

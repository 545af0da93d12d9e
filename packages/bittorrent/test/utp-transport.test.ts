import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { scratchDir } from '@swarmcast/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadTorrent, seedTorrent, type TorrentHandle } from '../src/node/api.ts';
import { openUtp, type UtpEndpoint, type UtpTransport } from '../src/node/utp-transport.ts';
import type { CodedError } from '../src/transport.ts';
import { makeV1Torrent } from './torrent-files.ts';

/** Collects a transport's bytes until `n` arrived. */
function collect(t: UtpTransport, n: number) {
  const chunks: Buffer[] = [];
  let got = 0;
  let full!: (b: Buffer) => void;
  let closed!: (reason: CodedError | undefined) => void;
  const bytes = new Promise<Buffer>((r) => (full = r));
  const whenClosed = new Promise<CodedError | undefined>((r) => (closed = r));
  t.start({
    data: (c) => {
      chunks.push(Buffer.from(c));
      got += c.length;
      if (got >= n) full(Buffer.concat(chunks));
    },
    drain: () => {},
    close: (reason) => closed(reason),
  });
  return { bytes, whenClosed };
}

describe('uTP transport (libutp through utp-native)', () => {
  const ends: UtpEndpoint[] = [];
  afterAll(async () => {
    for (const e of ends) await e.close();
  });

  it('dials, carries 8 MiB each way byte for byte, and reports the close to the other side', async () => {
    const incoming: UtpTransport[] = [];
    let arrived!: (t: UtpTransport) => void;
    const first = new Promise<UtpTransport>((r) => (arrived = r));
    const a = await openUtp({
      host: '127.0.0.1',
      onConnection: (t) => {
        incoming.push(t);
        arrived(t);
      },
    });
    const b = await openUtp({ host: '127.0.0.1', onConnection: () => {} });
    ends.push(a, b);
    expect(a.port).toBeGreaterThan(0);
    const r = await b.dial('127.0.0.1', a.port);
    if (!r.ok) throw new Error(r.error.message);
    const out = r.transport;
    expect(out.remote).toMatchObject({ kind: 'utp', outgoing: true, address: '127.0.0.1', port: a.port });
    const up = randomBytes(8 << 20);
    const down = randomBytes(8 << 20);
    const fromA = collect(out, down.length);
    // libutp announces a connection with its first data packet: the dialer speaks first.
    for (let o = 0; o < up.length; o += 64 * 1024) out.write(up.subarray(o, o + 64 * 1024));
    const inc = await first;
    expect(inc.remote).toMatchObject({ kind: 'utp', outgoing: false, address: '127.0.0.1', port: b.port });
    const fromB = collect(inc, up.length);
    for (let o = 0; o < down.length; o += 64 * 1024) inc.write(down.subarray(o, o + 64 * 1024));
    expect((await fromB.bytes).equals(up)).toBe(true);
    expect((await fromA.bytes).equals(down)).toBe(true);
    expect(incoming).toHaveLength(1);
    out.close();
    expect(out.closed).toBe(true);
    await fromB.whenClosed;
    expect(inc.closed).toBe(true);
  }, 60_000);

  it('a dial to a port where nobody speaks uTP fails with BT_UTP_DIAL, and an abort ends it', async () => {
    const b = await openUtp({ host: '127.0.0.1', onConnection: () => {} });
    ends.push(b);
    // A UDP port that is bound by nobody (the TCP port of a closed server is free for UDP too).
    const srv = createServer();
    const port = await new Promise<number>((r) =>
      srv.listen(0, '127.0.0.1', () => r((srv.address() as { port: number }).port)),
    );
    await new Promise((r) => srv.close(r));
    const r = await b.dial('127.0.0.1', port, { timeoutMs: 3_000 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('BT_UTP_DIAL');
    const ac = new AbortController();
    const pending = b.dial('127.0.0.1', port, { signal: ac.signal, timeoutMs: 30_000 });
    ac.abort();
    const aborted = await pending;
    expect(aborted.ok).toBe(false);
    if (!aborted.ok) expect(aborted.error.message).toMatch(/aborted/);
    const v6 = await b.dial('::1', port);
    expect(v6.ok).toBe(false);
  }, 30_000);

  it('refuses to bind an IPv6 address (libutp here is IPv4 only)', async () => {
    await expect(openUtp({ host: '::1', onConnection: () => {} })).rejects.toThrow(/IPv4/);
  });
});

describe('SwarmNode over uTP only (no TCP listener, no TCP dial)', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  const handles: TorrentHandle[] = [];
  beforeAll(async () => {
    dir = await scratchDir('swarmcast-utp-');
  });
  afterAll(async () => {
    for (const h of handles.reverse()) await h.close().catch(() => {});
    await dir?.remove();
  });
  const done = (h: TorrentHandle) =>
    new Promise<void>((r) => (h.session.isDone ? r() : h.session.on('done', () => r())));

  for (const encryption of ['off', 'require'] as const) {
    it(`a leecher dials a seeder over uTP and downloads byte for byte (MSE ${encryption})`, async () => {
      const t = await makeV1Torrent(
        join(dir.path, `src-${encryption}`),
        'show',
        [
          { path: ['ep.mp3'], length: 3_000_000 },
          { path: ['ep.txt'], length: 1_234 },
        ],
        64 * 1024,
      );
      const seed = await seedTorrent({
        torrent: t.torrent,
        dataPath: t.dataPath,
        host: '127.0.0.1',
        transports: ['utp'],
        encryption,
      });
      handles.push(seed);
      const out = join(dir.path, `out-${encryption}`);
      const leech = await downloadTorrent({
        torrent: t.torrent,
        dir: out,
        host: '127.0.0.1',
        transports: ['utp'],
        encryption,
        peers: [{ host: '127.0.0.1', port: seed.port }],
      });
      handles.push(leech);
      await done(leech);
      const got = Buffer.concat([
        await readFile(join(out, 'show', 'ep.mp3')),
        await readFile(join(out, 'show', 'ep.txt')),
      ]);
      expect(got.equals(t.content)).toBe(true);
      expect(seed.stats().uploaded).toBeGreaterThanOrEqual(t.content.length);
    }, 60_000);
  }

  it('with uTP first and TCP second, a peer that has only TCP is still reached', async () => {
    const t = await makeV1Torrent(
      join(dir.path, 'src-mixed'),
      'm',
      [{ path: ['a.bin'], length: 500_000 }],
      32 * 1024,
    );
    const seed = await seedTorrent({ torrent: t.torrent, dataPath: t.dataPath, host: '127.0.0.1' });
    handles.push(seed);
    const leech = await downloadTorrent({
      torrent: t.torrent,
      dir: join(dir.path, 'out-mixed'),
      host: '127.0.0.1',
      transports: ['utp', 'tcp'],
      peers: [{ host: '127.0.0.1', port: seed.port }],
    });
    handles.push(leech);
    await done(leech);
    expect((await readFile(join(dir.path, 'out-mixed', 'm', 'a.bin'))).equals(t.content)).toBe(true);
  }, 60_000);
});

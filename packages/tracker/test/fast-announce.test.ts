import { connect } from 'node:net';
import bencode from 'bencode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnnounceObservation } from '../src/core/tracker-core.ts';
import { parseFastAnnounce } from '../src/server/fast-announce.ts';
import { type RunningTracker, runStandaloneTracker } from '../src/standalone.ts';
import { announceQuery } from './helpers/announce.ts';

const req = (lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
const query = (port: number, hash = 0x61) =>
  announceQuery({ infoHash: new Uint8Array(20).fill(hash), port, compact: 1 });

describe('parseFastAnnounce', () => {
  const q = query(7001);
  it('takes a whole plain announce: the URL and the user agent', () => {
    expect(
      parseFastAnnounce(req([`GET /announce?${q} HTTP/1.1`, 'Host: t', 'User-Agent: qBittorrent/4.5.2'])),
    ).toEqual({ url: `/announce?${q}`, userAgent: 'qBittorrent/4.5.2' });
    expect(parseFastAnnounce(req([`GET /announce?${q} HTTP/1.0`]))).toEqual({
      url: `/announce?${q}`,
      userAgent: null,
    });
  });
  it('leaves everything else to node:http', () => {
    const whole = req([`GET /announce?${q} HTTP/1.1`, 'Host: t']);
    for (const [why, bytes] of [
      ['another path', req([`GET /scrape?${q} HTTP/1.1`])],
      ['a passkey', req([`GET /0123456789abcdef/announce?${q} HTTP/1.1`])],
      ['no query', req(['GET /announce HTTP/1.1', 'Upgrade: websocket'])],
      ['not yet whole', whole.subarray(0, whole.length - 2)],
      ['a pipelined second request', Buffer.concat([whole, whole])],
      ['a body', req([`GET /announce?${q} HTTP/1.1`, 'Content-Length: 3'])],
      ['chunked', req([`GET /announce?${q} HTTP/1.1`, 'Transfer-Encoding: chunked'])],
      ['an upgrade', req([`GET /announce?${q} HTTP/1.1`, 'Upgrade: websocket'])],
      ['HTTP/2', req([`GET /announce?${q} HTTP/2.0`])],
      ['a space in the URL', req([`GET /announce?${q} x HTTP/1.1`])],
      ['a byte beyond ASCII', req([`GET /announce?${q}\u00ff HTTP/1.1`])],
      ['a header without a colon', req([`GET /announce?${q} HTTP/1.1`, 'Host t'])],
      ['a bad header name', req([`GET /announce?${q} HTTP/1.1`, 'Ho st: t'])],
      ['two user agents', req([`GET /announce?${q} HTTP/1.1`, 'User-Agent: a', 'User-Agent: b'])],
      ['a control character', req([`GET /announce?${q} HTTP/1.1`, 'User-Agent: a\u0001b'])],
      ['a bare LF request', Buffer.from(`GET /announce?${q} HTTP/1.1\n\n`)],
      ['an oversized request', req([`GET /announce?${q}&x=${'a'.repeat(9000)} HTTP/1.1`])],
    ] as const) {
      expect(parseFastAnnounce(bytes), why).toBeNull();
    }
  });
});

/** Writes the parts (each its own write, after the previous one reached the server) and reads to the end. */
async function raw(port: number, parts: Buffer[]): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  for (const [i, p] of parts.entries()) {
    await new Promise<void>((resolve) => socket.write(p, () => resolve()));
    // Let the first part be read on its own before the next one is sent.
    if (i < parts.length - 1) await new Promise((r) => setTimeout(r, 50));
  }
  if (parts.length > 0) socket.end();
  await ended;
  return Buffer.concat(chunks).toString('latin1');
}

function bodies(response: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let rest = response;
  while (rest.length > 0) {
    const head = rest.indexOf('\r\n\r\n');
    const length = Number(/content-length: (\d+)/i.exec(rest.slice(0, head))?.[1]);
    const body = Buffer.from(rest.slice(head + 4, head + 4 + length), 'latin1');
    out.push(bencode.decode(body) as Record<string, unknown>);
    rest = rest.slice(head + 4 + length);
  }
  return out;
}

describe('announces on the fast path and through node:http, on a real socket', () => {
  let t: RunningTracker;
  const seen: AnnounceObservation[] = [];
  beforeAll(async () => {
    t = await runStandaloneTracker({
      port: 0,
      host: '127.0.0.1',
      rateLimit: null,
      observer: { observe: (o) => seen.push(o) },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers a whole announce and closes, with the user agent reaching the facts', async () => {
    const response = await raw(t.port, [
      req([`GET /announce?${query(7101, 0x71)} HTTP/1.1`, 'Host: x', 'User-Agent: Transmission/4.0.5']),
    ]);
    expect(response).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(response).toMatch(/\r\nconnection: close\r\n/i);
    // node:http would have added a Date header: this one took the fast path.
    expect(response).not.toMatch(/\r\ndate:/i);
    const [body] = bodies(response);
    expect(body).toMatchObject({ complete: 0, incomplete: 1, interval: 600 });
    expect(seen.at(-1)?.request.userAgent).toBe('Transmission/4.0.5');
    expect(seen.at(-1)?.request.port).toBe(7101);
  });

  it('gives a second peer the first, whichever path each took', async () => {
    // The first through node:http (split in two reads), the second on the fast path.
    const first = req([`GET /announce?${query(7201, 0x72)} HTTP/1.1`, 'Host: x', 'Connection: close']);
    await raw(t.port, [first.subarray(0, 20), first.subarray(20)]);
    const [body] = bodies(
      await raw(t.port, [req([`GET /announce?${query(7202, 0x72)} HTTP/1.1`, 'Host: x'])]),
    );
    expect(body).toMatchObject({ incomplete: 2 });
    const peers = Buffer.from(body!.peers as Uint8Array);
    expect(peers.length).toBe(6);
    expect(peers.readUInt16BE(4)).toBe(7201);
  });

  it('answers pipelined announces in order through node:http', async () => {
    const a = req([`GET /announce?${query(7301, 0x73)} HTTP/1.1`, 'Host: x']);
    const b = req([`GET /announce?${query(7302, 0x73)} HTTP/1.1`, 'Host: x', 'Connection: close']);
    const response = await raw(t.port, [Buffer.concat([a, b])]);
    expect(response).toMatch(/\r\ndate:/i);
    const answers = bodies(response);
    expect(answers.map((x) => x.incomplete)).toEqual([1, 2]);
  });

  it('hands anything else to node:http: stats, 404s and garbage', async () => {
    expect(await raw(t.port, [req(['GET /stats HTTP/1.1', 'Host: x', 'Connection: close'])])).toMatch(
      /^HTTP\/1\.1 200 OK\r\n[\s\S]*"torrents"/,
    );
    expect(await raw(t.port, [req(['GET /nothing HTTP/1.1', 'Host: x', 'Connection: close'])])).toMatch(
      /^HTTP\/1\.1 404 /,
    );
    expect(await raw(t.port, [Buffer.from('\u0000\u0001garbage\r\n\r\n', 'latin1')])).toMatch(
      /^HTTP\/1\.1 400 /,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { dialTcp, listenTcp, type TcpTransport } from '../src/node/tcp-transport.ts';
import type { CodedError, TransportHandler } from '../src/transport.ts';

interface Recorder extends TransportHandler {
  bytes: number;
  chunks: Uint8Array[];
  drains: number;
  closed: Promise<CodedError | undefined>;
}

function recorder(): Recorder {
  let resolveClosed: (r: CodedError | undefined) => void = () => {};
  const r: Recorder = {
    bytes: 0,
    chunks: [],
    drains: 0,
    closed: new Promise((res) => {
      resolveClosed = res;
    }),
    data(chunk) {
      r.bytes += chunk.length;
      r.chunks.push(chunk);
    },
    drain() {
      r.drains++;
    },
    close(reason) {
      resolveClosed(reason);
    },
  };
  return r;
}

async function pair(host: string): Promise<{ a: TcpTransport; b: TcpTransport; close(): Promise<void> }> {
  let accepted: (t: TcpTransport) => void = () => {};
  const got = new Promise<TcpTransport>((r) => {
    accepted = r;
  });
  const listener = await listenTcp({ host, port: 0, onConnection: (t) => accepted(t) });
  const dialed = await dialTcp(host, listener.port);
  if (!dialed.ok) throw new Error(dialed.error.message);
  const b = await got;
  return { a: dialed.transport, b, close: () => listener.close() };
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('tcp transport', () => {
  it('with reuseReadBuffer reads every chunk into one buffer, and a receiver that copies gets every byte', async () => {
    let accepted: (t: TcpTransport) => void = () => {};
    const got = new Promise<TcpTransport>((r) => {
      accepted = r;
    });
    const listener = await listenTcp({ host: '127.0.0.1', port: 0, onConnection: (t) => accepted(t) });
    const dialed = await dialTcp('127.0.0.1', listener.port, { reuseReadBuffer: true });
    if (!dialed.ok) throw new Error(dialed.error.message);
    const server = await got;
    const a = dialed.transport;
    expect(a.transientChunks).toBe(true);
    expect(server.transientChunks).toBe(false);
    const payload = Uint8Array.from({ length: 3 * 1024 * 1024 + 17 }, (_, i) => (i * 31 + (i >> 11)) & 0xff);
    const received = new Uint8Array(payload.length);
    let at = 0;
    const buffers = new Set<ArrayBufferLike>();
    a.start({
      data(chunk) {
        buffers.add(chunk.buffer);
        received.set(chunk, at);
        at += chunk.length;
      },
      drain() {},
      close() {},
    });
    server.start(recorder());
    for (let i = 0; i < payload.length; i += 100_000) server.write(payload.slice(i, i + 100_000));
    await until(() => at === payload.length, 20_000);
    // (toEqual on megabytes of typed array is too slow)
    expect(Buffer.compare(received, payload)).toBe(0);
    expect(buffers.size).toBe(1);
    a.close();
    server.close();
    await listener.close();
  });

  it.each(['127.0.0.1', '::1'])('carries bytes both ways over %s and reports the remote', async (host) => {
    const { a, b, close } = await pair(host);
    const ra = recorder();
    const rb = recorder();
    a.start(ra);
    b.start(rb);
    expect(a.remote).toMatchObject({ kind: 'tcp', outgoing: true, address: host });
    expect(b.remote).toMatchObject({
      kind: 'tcp',
      outgoing: false,
      family: host.includes(':') ? 'ipv6' : 'ipv4',
    });
    a.write(Uint8Array.from([1, 2, 3]));
    b.write(Uint8Array.from([4, 5]));
    await until(() => rb.bytes === 3 && ra.bytes === 2);
    expect(Buffer.concat(rb.chunks)).toEqual(Buffer.from([1, 2, 3]));
    a.close();
    expect(await rb.closed).toBeUndefined();
    expect(await ra.closed).toBeUndefined();
    expect(a.closed && b.closed).toBe(true);
    await close();
  });

  it('signals backpressure and drains, delivering every byte in order', async () => {
    const { a, b, close } = await pair('127.0.0.1');
    const ra = recorder();
    const rb = recorder();
    a.start(ra);
    b.pause();
    b.start(rb);
    const chunk = new Uint8Array(256 * 1024).map((_, i) => i & 0xff);
    let full = false;
    for (let i = 0; i < 64 && !full; i++) full = !a.write(chunk);
    expect(full).toBe(true);
    expect(a.bufferedAmount).toBeGreaterThan(0);
    const sent = a.bufferedAmount;
    b.resume();
    await until(() => ra.drains > 0);
    await until(() => rb.bytes >= sent);
    const all = Buffer.concat(rb.chunks);
    for (let i = 0; i < all.length; i += 4093) expect(all[i]).toBe((i % (256 * 1024)) & 0xff);
    a.close();
    await rb.closed;
    await close();
  });

  it('reports a refused dial as a value', async () => {
    const listener = await listenTcp({ host: '127.0.0.1', port: 0, onConnection: (t) => t.close() });
    const port = listener.port;
    await listener.close();
    const r = await dialTcp('127.0.0.1', port, { timeoutMs: 2000 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('BT_TCP_DIAL');
  });

  it('closes with the local reason and drops later writes', async () => {
    const { a, b, close } = await pair('127.0.0.1');
    const ra = recorder();
    b.start(recorder());
    a.start(ra);
    a.close({ code: 'BT_TEST', message: 'bye' });
    expect(await ra.closed).toEqual({ code: 'BT_TEST', message: 'bye' });
    a.write(new Uint8Array(10));
    await close();
  });
});

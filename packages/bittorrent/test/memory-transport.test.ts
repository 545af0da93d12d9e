import { describe, expect, it } from 'vitest';
import { memoryTransportPair } from '../src/memory-transport.ts';
import type { CodedError, TransportHandler } from '../src/transport.ts';
import { MessageWriter, WireDecoder } from '../src/wire/index.ts';

function recorder() {
  const got: Uint8Array[] = [];
  const events: string[] = [];
  const handler: TransportHandler = {
    data: (c) => {
      got.push(c);
      events.push(`data:${c.length}`);
    },
    drain: () => events.push('drain'),
    close: (r?: CodedError) => events.push(`close:${r?.code ?? ''}`),
  };
  return { got, events, handler };
}

const tick = () => new Promise<void>((r) => setTimeout(r, 0));

describe('memory transport pair', () => {
  it('delivers in order, asynchronously, and only after start', async () => {
    const [a, b] = memoryTransportPair();
    const rb = recorder();
    a.write(Uint8Array.of(1));
    a.write(Uint8Array.of(2, 3));
    await tick();
    expect(rb.got).toEqual([]);
    b.start(rb.handler);
    expect(rb.got).toEqual([]);
    await tick();
    expect(rb.got.map((c) => Array.from(c))).toEqual([[1], [2, 3]]);
  });

  it('signals backpressure and drain, and honours pause', async () => {
    const [a, b] = memoryTransportPair({ highWaterMark: 10 });
    const ra = recorder();
    const rb = recorder();
    a.start(ra.handler);
    b.start(rb.handler);
    b.pause();
    expect(a.write(new Uint8Array(8))).toBe(true);
    expect(a.write(new Uint8Array(8))).toBe(false);
    expect(a.bufferedAmount).toBe(16);
    await tick();
    expect(rb.got).toEqual([]);
    b.resume();
    await tick();
    expect(rb.got.length).toBe(2);
    expect(ra.events).toEqual(['drain']);
    expect(a.bufferedAmount).toBe(0);
  });

  it('closes both sides once, delivering in-flight bytes first, with the local reason', async () => {
    const [a, b] = memoryTransportPair();
    const ra = recorder();
    const rb = recorder();
    a.start(ra.handler);
    b.start(rb.handler);
    a.write(Uint8Array.of(9));
    a.close({ code: 'BT_TEST', message: 'bye' });
    a.close();
    expect(a.closed && b.closed).toBe(true);
    expect(a.write(Uint8Array.of(1))).toBe(false);
    await tick();
    expect(ra.events).toEqual(['close:BT_TEST']);
    expect(rb.events).toEqual(['data:1', 'close:']);
  });

  it('carries a MessageWriter batch to a decoder', async () => {
    const [a, b] = memoryTransportPair();
    const rb = recorder();
    a.start(recorder().handler);
    b.start(rb.handler);
    const w = new MessageWriter(a, 64);
    for (let i = 0; i < 20; i++) w.write({ type: 'have', index: i });
    const block = new Uint8Array(100).fill(5);
    w.writePiece(1, 0, block);
    w.write({ type: 'unchoke' });
    expect(w.flush()).toBe(true);
    await tick();
    // have x20 = 180 bytes over slabs of 64: several chunks, the block delivered as itself.
    expect(rb.got).toContain(block);
    const d = new WireDecoder({ handshake: false });
    for (const c of rb.got) d.push(c);
    const types: string[] = [];
    for (let m = d.next(); m; m = d.next()) types.push(m.type === 'have' ? `have${m.index}` : m.type);
    expect(types).toEqual([...Array.from({ length: 20 }, (_, i) => `have${i}`), 'piece', 'unchoke']);
  });
});

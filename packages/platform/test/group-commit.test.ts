import { gatedStream } from '@swarmcast/testkit';
import { describe, expect, it } from 'vitest';
import { type BatchShape, eventBatches, GroupCommit, type StreamEvent } from '../src/index.ts';

const tick = () => new Promise((r) => setTimeout(r, 5));
const ev = (id: string): StreamEvent => ({ id, subject: 'test.event', data: id });
const ids = (events: StreamEvent[]) => events.map((e) => e.id);

describe('GroupCommit', () => {
  it('publishes the items of one turn together; each caller resolves true only once that publish did', async () => {
    const stream = gatedStream();
    const commit = new GroupCommit(stream);
    const a = commit.add(ev('a'));
    const b = commit.add(ev('b'));
    expect(a).toBe(b); // one shared promise per batch
    expect(stream.waiting).toHaveLength(0); // nothing before the turn ends
    await tick();
    expect(stream.waiting.map((w) => ids(w.events))).toEqual([['a', 'b']]);
    let settled = false;
    void (a as Promise<boolean>).then(() => (settled = true));
    await tick();
    expect(settled).toBe(false);
    expect(commit.pending).toBe(2);
    stream.waiting[0]!.done();
    expect(await a).toBe(true);
    expect(commit.stats()).toEqual({ stored: 2, failed: 0, refused: 0, pending: 0, batches: 1 });
  });

  it('splits at the batch size and runs at most maxConcurrentPublishes at once, in order', async () => {
    const stream = gatedStream();
    const commit = new GroupCommit(stream, { shape: eventBatches(2), maxConcurrentPublishes: 2 });
    const all = ['a', 'b', 'c', 'd', 'e'].map((id) => commit.add(ev(id)));
    await tick();
    expect(stream.waiting.map((w) => ids(w.events))).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    // Items arriving while the last batch waits join it (up to the size).
    const f = commit.add(ev('f'));
    stream.waiting[0]!.done();
    await tick();
    expect(stream.waiting.map((w) => ids(w.events))).toEqual([
      ['a', 'b'],
      ['c', 'd'],
      ['e', 'f'],
    ]);
    for (const w of stream.waiting.slice(1)) w.done();
    expect(await Promise.all([...all, f])).toEqual([true, true, true, true, true, true]);
  });

  it('refuses at once beyond maxPending and after close; a failed publish resolves false, never rejects', async () => {
    const stream = gatedStream();
    const errors: unknown[] = [];
    const commit = new GroupCommit(stream, { maxPending: 2, onError: (e) => errors.push(e) });
    const a = commit.add(ev('a'));
    const b = commit.add(ev('b'));
    expect(commit.add(ev('c'))).toBe(false);
    await tick();
    stream.waiting[0]!.done(new Error('disk'));
    expect(await a).toBe(false);
    expect(await b).toBe(false);
    expect(errors).toHaveLength(1);
    // Room again once the failed batch settled.
    const d = commit.add(ev('d'));
    expect(d).not.toBe(false);
    await tick();
    stream.waiting[1]!.done();
    expect(await d).toBe(true);
    await commit.close();
    expect(commit.add(ev('e'))).toBe(false);
    expect(commit.stats()).toEqual({ stored: 1, failed: 2, refused: 2, pending: 0, batches: 1 });
  });

  it('maxWaitMs: callers stop waiting (false) while the publish goes on', async () => {
    const stream = gatedStream();
    const commit = new GroupCommit(stream, { maxWaitMs: 20 });
    const started = Date.now();
    const a = commit.add(ev('a'));
    expect(await a).toBe(false);
    // (The suite's timeout is generous: the bound is checked here.)
    expect(Date.now() - started).toBeLessThan(1000);
    expect(commit.pending).toBe(1);
    stream.waiting[0]!.done();
    await tick();
    expect(commit.stats()).toMatchObject({ stored: 1, pending: 0 });
  });

  it('close publishes every queued batch at once and waits for them, at most timeoutMs', async () => {
    const stream = gatedStream();
    const commit = new GroupCommit(stream, { shape: eventBatches(1), maxConcurrentPublishes: 1 });
    const all = ['a', 'b', 'c'].map((id) => commit.add(ev(id)));
    await tick();
    expect(stream.waiting).toHaveLength(1);
    let closed = false;
    const closing = commit.close().then(() => (closed = true));
    await tick();
    expect(stream.waiting).toHaveLength(3);
    stream.waiting[0]!.done();
    stream.waiting[1]!.done();
    await tick();
    expect(closed).toBe(false);
    stream.waiting[2]!.done();
    await closing;
    expect(await Promise.all(all)).toEqual([true, true, true]);
    // A stream that never answers: close gives up after timeoutMs.
    const stuck = new GroupCommit({ publish: () => new Promise<void>(() => {}) });
    stuck.add(ev('x'));
    const started = Date.now();
    await stuck.close(30);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('a shape of its own: items summed into one event per batch, a new batch when full', async () => {
    const stream = gatedStream();
    const counts: BatchShape<string, Map<string, number>> = {
      open: () => new Map(),
      add: (m, k) => (m.has(k) || m.size < 2) && m.set(k, (m.get(k) ?? 0) + 1) !== undefined,
      events: (m) => [{ id: 'sum', subject: 'test.sum', data: [...m] }],
    };
    const commit = new GroupCommit(stream, { shape: counts });
    for (const k of ['x', 'y', 'x', 'z', 'x']) commit.add(k);
    await tick();
    expect(stream.waiting.map((w) => w.events[0]!.data)).toEqual([
      [
        ['x', 2],
        ['y', 1],
      ],
      [
        ['z', 1],
        ['x', 1],
      ],
    ]);
    expect(commit.pending).toBe(5);
  });
});

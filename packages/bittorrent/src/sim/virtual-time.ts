import type { Clock, TimerHandle, Timers } from '../timers.ts';

interface Task {
  at: number;
  seq: number;
  fn: () => void;
  every: number;
  cancelled: boolean;
}

/**
 * Virtual time for the simulator and tests: a clock, timers and a `defer` queue that only
 * move when the test runs them. Tasks due at the same instant run in scheduling order, so a
 * run is a pure function of its inputs and seed. Runs are bounded by time and task count.
 */
export class VirtualTime implements Clock, Timers {
  private current: number;
  private seq = 0;
  private heap: Task[] = [];
  /** Tasks run so far (a runaway loop shows up here). */
  executed = 0;

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.push(fn, Math.max(0, ms), 0);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.push(fn, Math.max(1, ms), Math.max(1, ms));
  }

  /** Runs `fn` at the current instant, after what is already due now (a microtask stand-in). */
  readonly defer = (fn: () => void): void => {
    this.push(fn, 0, 0);
  };

  private push(fn: () => void, delay: number, every: number): TimerHandle {
    const task: Task = { at: this.current + delay, seq: this.seq++, fn, every, cancelled: false };
    this.insert(task);
    return {
      cancel: () => {
        task.cancelled = true;
      },
    };
  }

  /** Runs every task due up to `now + ms`, then sets the clock there. */
  runFor(ms: number, maxTasks = 10_000_000): void {
    this.runUntil(() => false, ms, maxTasks);
  }

  /**
   * Runs tasks in time order until `done()` holds (checked after each task) or `ms` of
   * virtual time pass. Returns true when `done()` held. Throws when `maxTasks` is exceeded
   * (a livelock in the code under test).
   */
  runUntil(done: () => boolean, ms: number, maxTasks = 10_000_000): boolean {
    const end = this.current + ms;
    let budget = maxTasks;
    if (done()) return true;
    while (this.heap.length > 0 && (this.heap[0] as Task).at <= end) {
      if (!this.runNext()) continue;
      if (--budget <= 0) throw new Error(`virtual time: more than ${maxTasks} tasks (livelock?)`);
      if (done()) return true;
    }
    this.current = Math.max(this.current, end);
    return done();
  }

  /**
   * Like {@link runUntil} for code that also awaits promises (storage, hashing): after the
   * tasks of each virtual instant it lets real promises settle (`settle`, by default one
   * macrotask turn) before time moves on. Returns true when `done()` held.
   */
  async runUntilAsync(
    done: () => boolean,
    ms: number,
    settle: () => Promise<void> = macrotask,
    maxTasks = 10_000_000,
  ): Promise<boolean> {
    const end = this.current + ms;
    let budget = maxTasks;
    await settle();
    while (!done()) {
      const next = this.heap[0];
      if (next === undefined || next.at > end) {
        // Promises may still schedule work at the current instant; give them one more turn.
        await settle();
        const again = this.heap[0];
        if (again === undefined || again.at > end) break;
        continue;
      }
      const instant = Math.max(this.current, next.at);
      this.current = instant;
      while (this.heap.length > 0 && (this.heap[0] as Task).at <= instant) {
        if (this.runNext() && --budget <= 0) {
          throw new Error(`virtual time: more than ${maxTasks} tasks (livelock?)`);
        }
      }
      await settle();
    }
    if (done()) return true;
    this.current = Math.max(this.current, end);
    return false;
  }

  /** Runs the earliest task (re-arming an interval); false when it had been cancelled. */
  private runNext(): boolean {
    const task = this.pop();
    if (task.cancelled) return false;
    this.current = Math.max(this.current, task.at);
    if (task.every > 0) {
      task.at += task.every;
      task.seq = this.seq++;
      this.insert(task);
    }
    this.executed++;
    task.fn();
    return true;
  }

  private less(a: Task, b: Task): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private insert(task: Task): void {
    const h = this.heap;
    h.push(task);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i] as Task, h[parent] as Task)) break;
      [h[i], h[parent]] = [h[parent] as Task, h[i] as Task];
      i = parent;
    }
  }

  private pop(): Task {
    const h = this.heap;
    const top = h[0] as Task;
    const last = h.pop() as Task;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l] as Task, h[m] as Task)) m = l;
        if (r < h.length && this.less(h[r] as Task, h[m] as Task)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m] as Task, h[i] as Task];
        i = m;
      }
    }
    return top;
  }
}

/** One macrotask turn: every pending promise continuation runs before it resolves. */
function macrotask(): Promise<void> {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown };
  return new Promise((resolve) => {
    if (g.setImmediate) g.setImmediate(resolve);
    else globalThis.setTimeout(resolve, 0);
  });
}

/**
 * A stream whose publish waits until the test settles it: `waiting[i].done()` makes the i-th
 * publish resolve, `done(err)` makes it reject. For batchers in front of an `EventStream`.
 */
export function gatedStream<E = { id: string; subject: string; data: unknown }>() {
  const waiting: Array<{ events: E[]; done: (err?: Error) => void }> = [];
  return {
    waiting,
    publish(events: E[]) {
      return new Promise<void>((resolve, reject) =>
        waiting.push({ events, done: (err) => (err ? reject(err) : resolve()) }),
      );
    },
  };
}

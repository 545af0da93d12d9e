/**
 * A child process for the crash tests: `produce` publishes batches forever and prints each
 * acknowledged id; `consume` handles events slowly and prints each id once its batch is
 * handled. The parent kills it with SIGKILL mid-way.
 */
import { openEventStream } from '../../src/index.ts';

const [mode, json] = process.argv.slice(2);
const options = JSON.parse(json ?? '{}');
const stream = await openEventStream(options);
const out = (line: string) => process.stdout.write(`${line}\n`);

if (mode === 'produce') {
  out('ready');
  for (let batch = 0; batch < 100_000; batch++) {
    const events = Array.from({ length: 20 }, (_, k) => ({
      id: `p-${batch}-${k}`,
      subject: 'fact.download',
      data: { batch, k },
    }));
    await stream.publish(events);
    out(events.map((e) => e.id).join(' '));
  }
} else if (mode === 'consume') {
  out('ready');
  await stream.consume(
    options.group,
    async (events) => {
      await new Promise((r) => setTimeout(r, 5));
      out(events.map((e) => e.id).join(' '));
    },
    { batchSize: 10 },
  );
  await new Promise((r) => setTimeout(r, 60_000));
}

/**
 * A durable producer in a process of its own, for durable-producer.test.ts to SIGKILL: opens
 * the journal in `dir` (delivering what it holds), enqueues records `from` to `to` − 1 (key
 * "k<i mod 50>", value "<i>:<run>"), and prints "accepted <i>" once every record up to i is
 * accepted; at the end it flushes, prints "delivered" and closes.
 *
 * argv: bootstrap topic dir from to run [window] [pauseMs]: records are enqueued `window` at a time (200 by
 * default), with a pause of `pauseMs` (50 by default) after each window.
 */
import { DurableProducer } from '../../src/durable/durable-producer.js';

const [bootstrap, topic, dir, fromArgument, toArgument, run, windowArgument, pauseArgument] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
  string | undefined,
  string | undefined,
];
const from = Number(fromArgument);
const to = Number(toArgument);
const WINDOW = Number(windowArgument ?? 200);
const PAUSE_MS = Number(pauseArgument ?? 50);

const producer = await DurableProducer.open({ bootstrap, lingerMs: 5, durable: { dir, sync: 'none' } });
const { replaying, inDoubtBatches, mayDuplicate, skipped } = producer.recovery;
process.stdout.write(`recovered ${JSON.stringify({ replaying, inDoubtBatches, mayDuplicate, skipped: skipped.length })}\n`);
producer.on('mayDuplicate', ({ records, reason }) => process.stdout.write(`may-duplicate ${records} ${reason}\n`));
for (let start = from; start < to; start += WINDOW) {
  const end = Math.min(to, start + WINDOW);
  const accepted = [];
  for (let i = start; i < end; i++) accepted.push(producer.enqueue({ topic, key: `k${i % 50}`, value: `${i}:${run}` }));
  await Promise.all(accepted);
  process.stdout.write(`accepted ${end - 1}\n`);
  // Paced, so that a kill can land while records are being delivered, not only while they are accepted.
  await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
}
await producer.flush();
process.stdout.write('delivered\n');
await producer.close();

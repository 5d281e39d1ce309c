/**
 * A durable producer enqueuing at a steady pace, for durable-faults.test.ts to stop the whole
 * cluster under: every `tickMs` it enqueues `perTick` records (key "k<i mod 50>", value "<i>", and a
 * header "pad" of `padBytes` bytes, so the console consumer's output stays small), waits for their
 * acceptance and prints "accepted <i>" (every record up to i accepted) and "rss <bytes>"
 * (process.memoryUsage().rss, sampled then). A line "stop" on stdin ends the enqueuing: it flushes, prints "delivered <count>" and closes.
 *
 * argv: bootstrap topic dir bufferMemory padBytes perTick tickMs
 */
import { createInterface } from 'node:readline';
import { DurableProducer } from '../../src/durable/durable-producer.js';

const [bootstrap, topic, dir, ...numbers] = process.argv.slice(2) as [string, string, string, string, string, string, string];
const [bufferMemory, padBytes, perTick, tickMs] = numbers.map(Number) as [number, number, number, number];

let stopping = false;
const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
  if (line.trim() !== 'stop') return;
  stopping = true;
  // Stdin would keep the process alive once the producer closed.
  input.close();
  process.stdin.destroy();
});

const producer = await DurableProducer.open({
  bootstrap,
  bufferMemory,
  lingerMs: 5,
  reconnectBackoff: { initialMs: 100, maxMs: 1000 },
  durable: { dir, sync: 'interval' },
});
producer.on('mayDuplicate', ({ records, reason }) => process.stdout.write(`may-duplicate ${records} ${reason}\n`));
producer.on('deliveryFailed', ({ topic: failed, partition, records, error }) =>
  process.stdout.write(`delivery-failed ${failed}-${partition} ${records} ${error.message}\n`),
);
process.stdout.write('started\n');
const pad = Buffer.alloc(padBytes, 'x');
let next = 0;
while (!stopping) {
  const accepted = [];
  for (let n = 0; n < perTick; n++, next++) {
    accepted.push(producer.enqueue({ topic, key: `k${next % 50}`, value: String(next), headers: { pad } }));
  }
  await Promise.all(accepted);
  process.stdout.write(`accepted ${next - 1}\nrss ${process.memoryUsage().rss}\n`);
  await new Promise((resolve) => setTimeout(resolve, tickMs));
}
await producer.flush();
process.stdout.write(`delivered ${next}\n`);
await producer.close();

/**
 * A consume-transform-produce worker, run as its own process by transactions.test.ts so that it
 * can be killed with SIGKILL: it reads every partition of the input topic from its group's
 * committed offset, writes "out:<value>" to the same partition of the output topic, and commits
 * the group's offsets in the same transaction (sendOffsetsToTransaction), CHUNK records at a time.
 *
 * argv: bootstrap input output groupId transactionalId [pauseInTransaction]
 * With pauseInTransaction = n, the n-th transaction stops after its records and offsets were
 * sent and acknowledged, prints "paused", and waits to be killed.
 */
import { Admin } from '../../src/cluster/admin.js';
import { Cluster } from '../../src/cluster/cluster.js';
import { PartitionReader } from '../../src/consumer/partition-reader.js';
import { Producer } from '../../src/producer/producer.js';

const CHUNK = 50;
const [bootstrap, input, output, groupId, transactionalId, pauseArgument] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string | undefined,
];
const pauseIn = pauseArgument === undefined ? -1 : Number(pauseArgument);

const cluster = await Cluster.connect({ bootstrap });
const admin = new Admin(cluster);
const producer = new Producer({ bootstrap, transactionalId, lingerMs: 2 });
// Fences an earlier incarnation and aborts what it left open, before the committed offsets are read.
await producer.initTransactions();
const committed = new Map((await admin.listGroupOffsets(groupId, [input])).map((entry) => [entry.partition, entry.offset]));
const { partitions } = await admin.describeTopic(input);

let transactions = 0;
for (const { partition } of partitions) {
  const from = committed.get(partition) ?? 0n;
  let chunk: { value: Buffer | null; offset: bigint }[] = [];
  const flushChunk = async () => {
    transactions++;
    producer.beginTransaction();
    const sends = chunk.map((record) => producer.send({ topic: output, partition, value: `out:${record.value?.toString()}` }));
    const next = (chunk.at(-1)?.offset ?? 0n) + 1n;
    await producer.sendOffsetsToTransaction([{ topic: input, partition, offset: next }], groupId);
    if (transactions === pauseIn) {
      await Promise.all(sends);
      process.stdout.write('paused\n');
      await new Promise(() => setInterval(() => undefined, 1000));
    }
    await producer.commitTransaction();
    process.stdout.write(`committed ${partition} ${next}\n`);
    chunk = [];
  };
  for await (const record of new PartitionReader(cluster, { topic: input, partition, from, until: 'end' })) {
    chunk.push(record);
    if (chunk.length === CHUNK) await flushChunk();
  }
  if (chunk.length > 0) await flushChunk();
}
await producer.close();
cluster.close();
process.stdout.write('done\n');

/**
 * A transactional producer in a process of its own, for a test that kills it with SIGKILL in the
 * middle of a transaction: initTransactions(), beginTransaction(), `count` records to partition 0
 * acknowledged (acks=all, so they are in the log), one line on stdout, then it waits to be killed.
 * Its transactionTimeoutMs is 10 minutes, so within a test only the next initTransactions() with
 * the same id can end the transaction it leaves open. Should the test die first, it exits after 5 minutes.
 *
 * Usage: node --import tsx transaction-child.ts <bootstrap> <topic> <transactionalId> <count>
 */
import { Producer } from '../../src/producer/producer.js';

const [bootstrap, topic, transactionalId, count] = process.argv.slice(2) as [string, string, string, string];
setTimeout(() => process.exit(3), 300_000);
const producer = new Producer({ bootstrap, transactionalId, transactionTimeoutMs: 600_000 });
await producer.initTransactions();
producer.beginTransaction();
await Promise.all(Array.from({ length: Number(count) }, (_, i) => producer.send({ topic, partition: 0, value: `killed-${i}` })));
process.stdout.write(`acknowledged ${count}\n`);

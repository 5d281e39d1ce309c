/**
 * @platformatic/kafka: Producer.send() with arrays of records (see groups.ts), Buffer values and
 * string keys (its stringSerializer). Knobs: acks, idempotent, compression, maxInflights (requests
 * per connection; the client forces 1 when idempotent), retryDelay (its default is 1 s). No
 * linger or batch-size knob. In transactions: beginTransaction(), one send() of the
 * transaction's records, commit().
 */
import { type MessageToProduce, ProduceAcks, Producer, stringSerializer } from '@platformatic/kafka';
import { closeWithin, sendInGroups } from './groups.js';
import { done, readConfig, recordKey, recordValues, runClient, runTransactions, valueAt } from './kit.js';

runClient(async () => {
  const config = readConfig();
  const values = recordValues(config.size);
  const producer = new Producer<string | undefined, Buffer, string, string>({
    clientId: 'bench-platformatic',
    bootstrapBrokers: [config.bootstrap],
    acks: config.acks === 'all' ? ProduceAcks.ALL : ProduceAcks.LEADER,
    idempotent: config.idempotent,
    compression: config.compression,
    maxInflights: config.maxInFlight,
    retryDelay: config.retryBackoffMs,
    serializers: { key: stringSerializer },
    transactionalId: config.transactionalId,
  });
  await producer.metadata({ topics: [config.topic] }); // connects before the clock starts, as the other clients do
  const messages = (from: number, to: number) => {
    const batch: MessageToProduce<string | undefined, Buffer, string, string>[] = new Array(to - from);
    for (let i = from; i < to; i++)
      batch[i - from] = { topic: config.topic, key: recordKey(config, i) ?? undefined, value: valueAt(values, i) };
    return batch;
  };
  if (config.transactionalId) {
    // Its first beginTransaction() obtains the producer id (InitProducerId); cancel() ends that
    // transaction locally, without a request, so the clock starts after the set-up, as for the others.
    await (await producer.beginTransaction()).cancel();
  }
  const line = config.transactionalId
    ? await runTransactions(config, async (from, to) => {
        const transaction = await producer.beginTransaction();
        try {
          await transaction.send({ messages: messages(from, to) });
          await transaction.commit();
        } catch (error) {
          await transaction.abort().catch(() => {});
          throw error;
        }
      })
    : await sendInGroups(config, (from, to) => producer.send({ messages: messages(from, to) }));
  await closeWithin(() => producer.close());
  done(line);
});

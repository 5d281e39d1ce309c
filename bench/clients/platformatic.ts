/**
 * @platformatic/kafka: Producer.send() with arrays of records (see groups.ts), Buffer values and
 * string keys (its stringSerializer). Knobs: acks, idempotent, compression, maxInflights (requests
 * per connection; the client forces 1 when idempotent). No linger or batch-size knob.
 */
import { type MessageToProduce, ProduceAcks, Producer, stringSerializer } from '@platformatic/kafka';
import { closeWithin, sendInGroups } from './groups.js';
import { done, readConfig, recordKey, recordValues, runClient, valueAt } from './kit.js';

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
    serializers: { key: stringSerializer },
  });
  await producer.metadata({ topics: [config.topic] }); // connects before the clock starts, as the other clients do
  const line = await sendInGroups(config, (from, to) => {
    const messages: MessageToProduce<string | undefined, Buffer, string, string>[] = new Array(to - from);
    for (let i = from; i < to; i++)
      messages[i - from] = { topic: config.topic, key: recordKey(config, i) ?? undefined, value: valueAt(values, i) };
    return producer.send({ messages });
  });
  await closeWithin(() => producer.close());
  done(line);
});

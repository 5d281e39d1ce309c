/**
 * @confluentinc/kafka-javascript through its node-rdkafka API, without a consumer group:
 * KafkaConsumer.assign() of the six partitions at offset 0 (librdkafka then fetches them on its
 * own threads into its queue), and consume(maxPollRecords) in a loop, each call taking what the
 * queue holds in one hop to the addon's worker thread. Its promise (KafkaJS-style) API runs the
 * same calls under a consumer group, with a promise per batch or message.
 */
import rdkafka, { type LibrdKafkaError, type Message } from '@confluentinc/kafka-javascript';
import { closeWithin } from '../groups.js';
import { done, readConfig, runClient } from '../kit.js';
import { ReadTally, readPlan, timeRead } from './tally.js';

/** Not in the addon's typings; its promise API sets it the same way. */
interface WaitsForFirstMessageOnly {
  setDefaultIsTimeoutOnlyForFirstMessage(only: boolean): void;
}

runClient(async () => {
  const config = readConfig();
  const plan = readPlan(config);
  const consumer = new rdkafka.KafkaConsumer({
    'bootstrap.servers': config.bootstrap,
    'client.id': 'bench-confluent-reader',
    // The addon insists on one; with assign() and no commits, librdkafka joins no group.
    'group.id': `${config.topic}-unused`,
    'enable.auto.commit': false,
    'fetch.wait.max.ms': plan.maxWaitMs,
    'fetch.max.bytes': plan.maxBytes,
    'max.partition.fetch.bytes': plan.maxBytesPerPartition,
    'retry.backoff.ms': config.retryBackoffMs,
  });
  consumer.on('event.error', (error) => process.stderr.write(`librdkafka: ${error.message}\n`));
  await new Promise<void>((resolve, reject) => consumer.connect({ topic: config.topic }, (error) => (error ? reject(error) : resolve())));
  // A call waits up to maxWaitMs for its first message, then takes only what is already queued.
  consumer.setDefaultConsumeTimeout(plan.maxWaitMs);
  (consumer as unknown as WaitsForFirstMessageOnly).setDefaultIsTimeoutOnlyForFirstMessage(true);
  const consume = () =>
    new Promise<Message[]>((resolve, reject) =>
      consumer.consume(plan.maxPollRecords, (error: LibrdKafkaError | null, messages) => (error ? reject(error) : resolve(messages))),
    );
  const tally = new ReadTally(plan.partitionEnds);
  const line = await timeRead(tally, async () => {
    consumer.assign(tally.partitionsToRead().map((partition) => ({ topic: config.topic, partition, offset: 0 })));
    while (!tally.done) {
      for (const message of await consume()) {
        tally.value(message.value);
        tally.readTo(message.partition, message.offset + 1);
      }
    }
  });
  await closeWithin(() => new Promise((resolve) => consumer.disconnect(resolve)));
  done(line);
});

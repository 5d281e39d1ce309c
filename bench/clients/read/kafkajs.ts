/**
 * KafkaJS cannot read a partition without a consumer group (it has no assign()), so it joins a
 * group of its own (one member, all six partitions) subscribed from the beginning, with
 * eachBatch (a partition's records per call, not a promise per record) and no offset commits.
 * The clock starts when it has joined the group and begins fetching.
 */
import { closeWithin } from '../groups.js';
import { kafkajsClient } from '../kafkajs-setup.js';
import { done, readConfig, runClient } from '../kit.js';
import { ReadTally, readPlan, timeRead } from './tally.js';

runClient(async () => {
  const config = readConfig();
  const plan = readPlan(config);
  const kafka = kafkajsClient('bench-kafkajs-reader', config.bootstrap);
  const consumer = kafka.consumer({
    groupId: `${config.topic}-kafkajs-${Date.now().toString(36)}`,
    maxBytesPerPartition: plan.maxBytesPerPartition,
    maxBytes: plan.maxBytes,
    maxWaitTimeInMs: plan.maxWaitMs,
    retry: { initialRetryTime: config.retryBackoffMs },
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [config.topic], fromBeginning: true });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  const tally = new ReadTally(plan.partitionEnds);
  // A crash it restarts from (a retriable error) is not the end of the run.
  const crashed = new Promise<never>((_, reject) =>
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) reject(payload.error);
    }),
  );
  const running = consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) tally.value(message.value);
      const last = batch.messages.at(-1);
      if (last) tally.readTo(batch.partition, Number(last.offset) + 1);
    },
  });
  // run() resolves once the fetching has been scheduled, just after the join: the clock starts at the join.
  await Promise.race([joined, crashed, running.then(() => joined)]);
  const line = await timeRead(tally, () => Promise.race([tally.finished, crashed]));
  await closeWithin(() => consumer.disconnect());
  done(line);
});

import { Admin } from '../../cluster/admin.js';
import { Coordinators } from '../../cluster/coordinators.js';
import { PartitionReader, readPartition } from '../../consumer/partition-reader.js';
import { isRetriable } from '../../errors.js';
import { Producer } from '../../producer/producer.js';
import {
  AddPartitionsToTxn,
  DescribeTransactions,
  EndTxn,
  Fetch,
  FindCoordinator,
  InitProducerId,
  ListOffsets,
  Produce,
} from '../../protocol/generated/index.js';
import { errorInfo, KafkaProtocolError } from '../../protocol/kafka-errors.js';
import { CheckFailure, type ConformanceContext, expectThat, unsupported } from '../context.js';
import { ensureTopics } from './admin.js';

/** How long the transaction markers may take to reach the partition. */
const MARKER_WAIT_MS = 10_000;
const TRANSACTION_APIS = [FindCoordinator, InitProducerId, AddPartitionsToTxn, EndTxn];

/**
 * transactions: one transaction committed, one aborted, one more committed; read_committed sees
 * only the committed records, read_uncommitted all of them; DescribeTransactions (where the
 * broker has it) reports the transactional id's last transaction committed.
 */
export async function transactionChecks(context: ConformanceContext): Promise<void> {
  const apis = [...TRANSACTION_APIS, Produce, Fetch, ListOffsets, DescribeTransactions];
  await context.run('transactions', 'commit and abort', apis, async () => {
    const missing = TRANSACTION_APIS.filter((api) => context.brokerRange(api) === null).map((api) => api.name);
    if (missing.length) unsupported(`the broker does not offer ${missing.join(', ')}`);
    for (const api of TRANSACTION_APIS) context.common(api);
    const { transactions: topic } = await ensureTopics(context);
    const transactionalId = context.topic('txn');
    const producer = new Producer({
      ...context.settings.connection,
      transactionalId,
      transactionTimeoutMs: 30_000,
      maxBlockMs: 15_000,
      lingerMs: 0,
    });
    try {
      try {
        await producer.initTransactions();
      } catch (error) {
        // A coordinator the cluster cannot provide (e.g. __transaction_state needing more replicas than it has) or a
        // broker refusing transactions is the cluster's limit; anything else (an answer we cannot read) is ours.
        if (!isRetriable(error) && !(error instanceof KafkaProtocolError)) throw error;
        unsupported(`the transaction coordinator cannot be used: ${(error as Error).message}`);
      }
      for (const api of TRANSACTION_APIS) context.negotiated(api);
      const send = (value: string) => producer.send({ topic, partition: 0, key: 'txn', value });
      const inTransaction = async (values: string[], end: 'commit' | 'abort') => {
        producer.beginTransaction();
        const sent = values.map(send);
        await producer.flush();
        if (end === 'commit') await producer.commitTransaction();
        else await producer.abortTransaction();
        await Promise.allSettled(sent);
      };
      await inTransaction(['committed-1', 'committed-2', 'committed-3'], 'commit');
      await inTransaction(['aborted-1', 'aborted-2'], 'abort');
      await inTransaction(['committed-4'], 'commit');
    } finally {
      await producer.close(10_000);
    }
    context.negotiated(Produce);
    context.negotiated(Fetch);
    context.negotiated(ListOffsets);
    // commitTransaction() returns once the coordinator has logged the commit; its markers reach the partition
    // after that. Until they do, the last stable offset stops short of the last transaction.
    const admin = new Admin(context.connectedCluster);
    const settleStarted = Date.now();
    for (;;) {
      const [end] = await admin.listOffsets(topic, 'latest');
      const [stable] = await admin.listOffsets(topic, 'latest', { isolation: 'read_committed' });
      if (end && stable && stable.offset >= end.offset) break;
      if (Date.now() - settleStarted > MARKER_WAIT_MS)
        throw new CheckFailure(
          `the last stable offset stayed at ${stable?.offset}, below the end ${end?.offset}, for ${MARKER_WAIT_MS} ms`,
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const settledMs = Date.now() - settleStarted;
    const committed: string[] = [];
    for await (const record of new PartitionReader(context.connectedCluster, {
      topic,
      partition: 0,
      until: 'end',
      isolation: 'read_committed',
    })) {
      committed.push(record.value?.toString() ?? 'null');
    }
    const everything = (await readPartition(context.connectedCluster, topic, 0)).map((record) => record.value?.toString() ?? 'null');
    const want = 'committed-1,committed-2,committed-3,committed-4';
    expectThat(committed.join(',') === want, `read_committed saw ${committed.join(',')}, expected ${want}`);
    expectThat(
      everything.includes('aborted-1') && everything.includes('aborted-2'),
      `read_uncommitted saw ${everything.join(',')}, without the aborted records`,
    );
    let described = '';
    if (context.brokerRange(DescribeTransactions) !== null) {
      const connection = await new Coordinators(context.connectedCluster).connection('transaction', transactionalId);
      const version = context.negotiated(DescribeTransactions, connection);
      const answer = await connection.request(
        DescribeTransactions,
        DescribeTransactions.request.create({ transactionalIds: [transactionalId] }),
        { version },
      );
      const state = answer.transactionStates[0];
      expectThat(state?.transactionalId === transactionalId, `DescribeTransactions v${version} did not describe ${transactionalId}`);
      if (state && state.errorCode !== 0) throw new CheckFailure(`DescribeTransactions v${version}: ${errorInfo(state.errorCode).name}`);
      // The markers are in the partition (the last stable offset reached its end): no transaction may be in progress.
      // Apache Kafka says CompleteCommit; kfake says Empty, which a producer waiting for the markers reads the same way.
      const ended = ['CompleteCommit', 'Empty'];
      expectThat(
        ended.includes(state?.transactionState ?? ''),
        `DescribeTransactions v${version} reports ${state?.transactionState}, expected ${ended.join(' or ')}`,
      );
      described = `; DescribeTransactions v${version}: ${state?.transactionState}`;
    }
    return (
      `read_committed: ${committed.length} committed records only; read_uncommitted: ${everything.length} ` +
      `(aborted ones included); the last stable offset reached the end ${settledMs} ms after the producer closed${described}`
    );
  });
}

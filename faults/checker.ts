import { runKafkaToolAsync } from '../test/support/java-tools.js';
import { Ledger, type Load, type TransactionLog } from './load.js';

export interface Verdict {
  sent: number;
  acknowledged: number;
  /** Acknowledged and not in the topic. */
  lost: number;
  /** In the topic more than once. */
  duplicated: number;
  /** Records of a key read after a later one of the same key. */
  reordered: number;
  /** Failed sends, by error name (failed records may or may not be in the topic: the client said so). */
  failed: Record<string, number>;
  /** Sends not settled within their bound (deliveryTimeoutMs + 1 s of their call; without one, by the end of the run). */
  unsettled: number;
  /** null where the client says nothing per record (the daemon): only whether all settled is known. */
  worstSettleMs: number | null;
  /** The transactional producer's transactions, read with isolation read_committed. */
  transactions?: TransactionsVerdict;
}

export interface TransactionsVerdict {
  committed: number;
  aborted: number;
  /** Not known to have committed or aborted (the producer was replaced): all or none of its records may show. */
  unknown: number;
  /** Records of aborted transactions that a read_committed reader sees. */
  abortedVisible: number;
  /** Transactions of which a read_committed reader sees some records but not all. */
  torn: number;
}

/** The verdict on a load: the producer within its delivery timeout; the others (they never give up) must settle at all. */
export async function verdictOf(load: Load, version: string, bootstrap: string): Promise<Verdict> {
  const { transactions } = load;
  const read = await readTopic(version, bootstrap, load.topic, transactions !== undefined);
  const verdict = check(read, load.sent, load.deliveryTimeoutMs);
  if (transactions) return { ...verdict, transactions: checkTransactions(read.seen, load.sent, transactions) };
  // The daemon answers nothing per message: its status only says when all were delivered.
  return load.kind === 'daemon' ? { ...verdict, worstSettleMs: null } : verdict;
}

/** Each transaction all or nothing: committed ones whole, aborted ones invisible, unknown ones either. */
function checkTransactions(
  seen: ReadonlyMap<string, number>,
  sent: Ledger,
  { transactionOf, outcomes }: TransactionLog,
): TransactionsVerdict {
  const visible = new Uint32Array(outcomes.length);
  const size = new Uint32Array(outcomes.length);
  for (let i = 0; i < sent.count; i++) {
    const transaction = transactionOf[i] as number;
    size[transaction] = (size[transaction] as number) + 1;
    if (seen.has(Ledger.value(i))) visible[transaction] = (visible[transaction] as number) + 1;
  }
  const verdict: TransactionsVerdict = { committed: 0, aborted: 0, unknown: 0, abortedVisible: 0, torn: 0 };
  outcomes.forEach((outcome, transaction) => {
    if (outcome === 'committed') verdict.committed++;
    else if (outcome === 'aborted') verdict.aborted++;
    else verdict.unknown++;
    if (outcome === 'aborted') verdict.abortedVisible += visible[transaction] as number;
    const count = visible[transaction] as number;
    if (count > 0 && count < (size[transaction] as number)) verdict.torn++;
  });
  return verdict;
}

interface TopicRead {
  /** Each value read, with how many times. */
  seen: Map<string, number>;
  /** Records of a key read after a later one of the same key. */
  reordered: number;
}

/** Reads a topic from the beginning with Apache Kafka's console consumer (read_committed for a transactional load). */
async function readTopic(kafkaVersion: string, bootstrap: string, topic: string, readCommitted: boolean): Promise<TopicRead> {
  // Not spawnSync: whatever else runs in this process (a load still closing) keeps running.
  const result = await runKafkaToolAsync(
    kafkaVersion,
    'org.apache.kafka.tools.consumer.ConsoleConsumer',
    [
      '--bootstrap-server',
      bootstrap,
      '--topic',
      topic,
      '--from-beginning',
      '--timeout-ms',
      '20000',
      '--property',
      'print.partition=true',
      ...(readCommitted ? ['--isolation-level', 'read_committed'] : []),
    ],
    600_000,
  );
  // It ends by counting what it printed: without that line it failed, and every load writes something, so 0 is a failure too.
  if (!/^Processed a total of [1-9]\d* messages$/m.test(result.output)) {
    throw new Error(`the console consumer failed on ${topic} (exit ${result.status}):\n${result.output.slice(-3000)}`);
  }
  const seen = new Map<string, number>();
  const lastSeq = new Map<string, number>();
  let reordered = 0;
  for (const line of result.output.split('\n')) {
    const match = /^Partition:\d+\t(k\d+):(\d+)$/.exec(line);
    if (!match) continue;
    const [, key, seq] = match as unknown as [string, string, string];
    const value = `${key}:${seq}`;
    seen.set(value, (seen.get(value) ?? 0) + 1);
    if (Number(seq) < (lastSeq.get(key) ?? -1)) reordered++;
    lastSeq.set(key, Math.max(Number(seq), lastSeq.get(key) ?? -1));
  }
  return { seen, reordered };
}

/**
 * What Apache Kafka's console consumer finds of the records a load sent: each acknowledged one
 * once, each key's records in the order sent.
 */
function check(
  { seen, reordered }: TopicRead,
  sent: Ledger,
  /** deliveryTimeoutMs for a client that gives up on records; undefined for one that never does (durable, daemon). */
  deliveryTimeoutMs: number | undefined,
): Verdict {
  const failed: Record<string, number> = {};
  let acknowledged = 0;
  let lost = 0;
  let unsettled = 0;
  let worstSettleMs = 0;
  for (let i = 0; i < sent.count; i++) {
    const settledAt = sent.settledAt[i] as number;
    const settleMs = Number.isNaN(settledAt) ? Number.POSITIVE_INFINITY : settledAt - (sent.sentAt[i] as number);
    if (!Number.isFinite(settleMs) || settleMs > (deliveryTimeoutMs ?? Number.POSITIVE_INFINITY) + 1000) unsettled++;
    if (Number.isFinite(settleMs)) worstSettleMs = Math.max(worstSettleMs, settleMs);
    const error = sent.error[i] as number;
    if (error > 0) {
      const name = sent.errorNames[error - 1] as string;
      failed[name] = (failed[name] ?? 0) + 1;
    } else if (!Number.isNaN(settledAt)) {
      acknowledged++;
      if (!seen.has(Ledger.value(i))) lost++;
    }
  }
  const duplicated = [...seen.values()].filter((copies) => copies > 1).length;
  return { sent: sent.count, acknowledged, lost, duplicated, reordered, failed, unsettled, worstSettleMs: Math.round(worstSettleMs) };
}

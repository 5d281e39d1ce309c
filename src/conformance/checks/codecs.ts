import { Fetch, Produce } from '../../protocol/generated/index.js';
import { errorInfo } from '../../protocol/kafka-errors.js';
import type { CompressionName } from '../../records/compression.js';
import { CheckFailure, type ConformanceContext, unsupported } from '../context.js';
import { compareRecords, fixtureRecords } from '../fixtures.js';
import { batchesOf, buildBatch, fetchAt, leaderConnection, produceAt } from '../wire.js';
import { ensureTopics } from './admin.js';

const CODEC_PARTITION = 2;
const CODECS: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
/** zstd batches need Produce v7 on (KIP-110, Kafka 2.1). */
const ZSTD_MIN_PRODUCE = 7;

/** codecs: a batch in each codec produced at the newest Produce version and read back identical. */
export async function codecChecks(context: ConformanceContext): Promise<void> {
  for (const codec of CODECS) {
    await context.run('codecs', `codec ${codec}`, [Produce, Fetch], async () => {
      const produceVersion = context.common(Produce)[1];
      if (codec === 'zstd' && produceVersion < ZSTD_MIN_PRODUCE)
        unsupported(`the broker's Produce stops at v${produceVersion}; zstd needs v${ZSTD_MIN_PRODUCE}+ (Kafka 2.1)`);
      const { main } = await ensureTopics(context);
      const { connection, target } = await leaderConnection(context, main, CODEC_PARTITION);
      const records = fixtureRecords(`codec-${codec}`, 8);
      const answer = await produceAt(context, connection, target, produceVersion, buildBatch(records, { compression: codec }));
      if (answer.errorCode !== 0) {
        const error = errorInfo(answer.errorCode);
        const said = answer.errorMessage ? `: ${answer.errorMessage}` : '';
        const what = `the broker refused a ${codec} batch: ${error.name} (${answer.errorCode})${said}`;
        // UNSUPPORTED_COMPRESSION_TYPE is the broker lacking the codec, not a fault of ours.
        if (error.name === 'UNSUPPORTED_COMPRESSION_TYPE') unsupported(what);
        throw new CheckFailure(what);
      }
      const fetchVersion = context.common(Fetch)[1];
      const data = await fetchAt(context, connection, target, fetchVersion, answer.baseOffset);
      if (data.errorCode !== 0) throw new CheckFailure(`Fetch v${fetchVersion} answered error code ${data.errorCode}`);
      const batches = batchesOf(data);
      const stored = batches.find((batch) => batch.baseOffset === answer.baseOffset)?.compression ?? '?';
      const compared = compareRecords(batches, answer.baseOffset, records);
      return `Produce v${produceVersion}, Fetch v${fetchVersion}: ${compared} records identical; the broker stored it as ${stored}`;
    });
  }
}

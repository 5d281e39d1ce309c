import { Fetch, Produce } from '../../protocol/generated/index.js';
import { errorInfo } from '../../protocol/kafka-errors.js';
import type { ApiDefinition } from '../../protocol/primitives/index.js';
import { CheckFailure, type ConformanceContext, describeError, expectThat, skipped, unsupported } from '../context.js';
import { compareRecords, fixtureRecords } from '../fixtures.js';
import { firstMagic, legacyFetch } from '../legacy-fetch.js';
import { brokerOnly, intersect, versionsOf } from '../versions.js';
import { batchesOf, buildBatch, fetchAt, leaderConnection, produceAt } from '../wire.js';
import { ensureTopics } from './admin.js';

const PRODUCE_PARTITION = 0;
const FETCH_PARTITION = 1;

export const OLD_PRODUCE_REASON = 'kafka-wire writes record batch v2 (magic 2) only; Produce v0–v2 need message sets v0/v1';
export const OLD_FETCH_REASON =
  'kafka-wire reads record batch v2 (magic 2) only; Fetch v0–v3 answers carry message sets v0/v1, converted down';

/** The versions of `api` to exercise, after reporting the broker's versions we have no codec for as skipped. */
async function versionsToExercise(
  context: ConformanceContext,
  group: 'produce' | 'fetch',
  api: ApiDefinition,
  oldReason: string,
  probeOld?: (version: number) => Promise<string>,
): Promise<number[]> {
  const ours: [number, number] = [api.request.minVersion, api.request.maxVersion];
  const broker = context.brokerRange(api);
  if (broker === null) {
    await context.run(group, group, [api], async () => unsupported(`the broker does not offer ${api.name}`));
    return [];
  }
  for (const version of brokerOnly(ours, broker)) {
    await context.run(group, `${group} v${version}`, [], async () => {
      if (version > ours[1]) skipped(`kafka-wire's ${api.name} codec stops at v${ours[1]} (the broker offers up to v${broker[1]})`);
      if (!probeOld) return skipped(oldReason);
      // The probe only explains the skip: if it fails, the skip says so rather than failing the run.
      const reason = await probeOld(version).catch((error: unknown) => `${oldReason} (the probe failed: ${describeError(error)})`);
      return skipped(reason);
    });
  }
  const both = versionsOf(intersect(ours, broker));
  if (both.length === 0) await context.run(group, group, [api], async () => context.common(api) && '');
  return both;
}

/** produce: one batch at every Produce version both speak; the offset it got, and the records read back field by field. */
export async function produceChecks(context: ConformanceContext): Promise<void> {
  const versions = await versionsToExercise(context, 'produce', Produce, OLD_PRODUCE_REASON);
  let nextOffset = 0n;
  for (const version of versions) {
    await context.run('produce', `produce v${version}`, [Produce, Fetch], async () => {
      const { main } = await ensureTopics(context);
      const { connection, target } = await leaderConnection(context, main, PRODUCE_PARTITION);
      const records = fixtureRecords(`produce-v${version}`);
      const answer = await produceAt(context, connection, target, version, buildBatch(records));
      if (answer.errorCode !== 0)
        throw new CheckFailure(`Produce v${version} answered error code ${answer.errorCode}: ${answer.errorMessage}`);
      // This partition is the run's alone: each batch lands right after the previous one.
      const expected = nextOffset;
      nextOffset = answer.baseOffset + BigInt(records.length);
      expectThat(answer.baseOffset === expected, `Produce v${version} returned base offset ${answer.baseOffset}, expected ${expected}`);
      const fetchVersion = context.common(Fetch)[1];
      const data = await fetchAt(context, connection, target, fetchVersion, answer.baseOffset);
      if (data.errorCode !== 0) throw new CheckFailure(`Fetch v${fetchVersion} answered error code ${data.errorCode}`);
      const compared = compareRecords(batchesOf(data), answer.baseOffset, records);
      return `base offset ${answer.baseOffset}; ${compared} records read back (Fetch v${fetchVersion}) identical`;
    });
  }
}

/** fetch: records produced once, read back at every Fetch version both speak. */
export async function fetchChecks(context: ConformanceContext): Promise<void> {
  const records = fixtureRecords('fetch');
  const fixture = () =>
    context.once('fetch-fixture', async () => {
      const { main } = await ensureTopics(context);
      const { connection, target } = await leaderConnection(context, main, FETCH_PARTITION);
      const version = context.common(Produce)[1];
      const answer = await produceAt(context, connection, target, version, buildBatch(records));
      if (answer.errorCode !== 0) throw new CheckFailure(`producing the records to fetch failed with error code ${answer.errorCode}`);
      return { connection, target, baseOffset: answer.baseOffset };
    });
  // Below v4, what the broker sends back is looked at, so the skip says what it did.
  const probeOld = async (version: number): Promise<string> => {
    const { target, baseOffset } = await fixture();
    // A connection of its own: an answer that does not decode closes the connection it came on.
    const leader = target.topic.partitions[target.partition]?.leader ?? -1;
    const connection = await context.connectedCluster.connectionTo(leader, { lane: 'conformance-legacy-fetch' });
    context.sent(Fetch, version);
    const answer = await legacyFetch(connection, version, target.topic.name, target.partition, baseOffset);
    if (answer.errorCode !== 0) return `${OLD_FETCH_REASON}; Fetch v${version} answered ${errorInfo(answer.errorCode).name}`;
    const magic = firstMagic(answer.records);
    const first = answer.records?.subarray(0, 24).toString('hex') ?? 'none';
    if (magic === 2)
      return `the broker answered Fetch v${version} with magic 2 batches (first bytes ${first}), but kafka-wire's Fetch codec starts at v4`;
    return `${OLD_FETCH_REASON}: it answered Fetch v${version} with magic ${magic} (first bytes ${first})`;
  };
  const versions = await versionsToExercise(context, 'fetch', Fetch, OLD_FETCH_REASON, probeOld);
  for (const version of versions) {
    await context.run('fetch', `fetch v${version}`, [Fetch], async () => {
      const { connection, target, baseOffset } = await fixture();
      const data = await fetchAt(context, connection, target, version, baseOffset);
      if (data.errorCode !== 0) throw new CheckFailure(`Fetch v${version} answered error code ${data.errorCode}`);
      const end = baseOffset + BigInt(records.length);
      expectThat(data.highWatermark >= end, `Fetch v${version}: high watermark ${data.highWatermark}, below ${end}`);
      const compared = compareRecords(batchesOf(data), baseOffset, records);
      return `${compared} records from offset ${baseOffset} identical; high watermark ${data.highWatermark}`;
    });
  }
}

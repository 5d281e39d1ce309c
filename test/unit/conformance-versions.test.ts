import { expect, test } from 'vitest';
import { apiVersionsFrame } from '../../src/conformance/checks/connect.js';
import { CheckOutcome, type ConformanceContext, ConformanceContext as Context, skipped } from '../../src/conformance/context.js';
import { apiRows } from '../../src/conformance/run.js';
import { brokerOnly, intersect, versionsOf } from '../../src/conformance/versions.js';
import { API_DEFINITIONS, Fetch, Produce } from '../../src/protocol/generated/index.js';

test('intersect: the versions both sides speak, or null', () => {
  expect(intersect([3, 13], [0, 9])).toEqual([3, 9]);
  expect(intersect([3, 13], [0, 13])).toEqual([3, 13]);
  expect(intersect([4, 18], [0, 3])).toBeNull();
  expect(intersect([0, 0], [0, 0])).toEqual([0, 0]);
  expect(intersect([0, 5], null)).toBeNull();
});

test('versionsOf lists a range; brokerOnly lists what the broker offers outside ours', () => {
  expect(versionsOf([3, 6])).toEqual([3, 4, 5, 6]);
  expect(versionsOf(null)).toEqual([]);
  expect(brokerOnly([3, 13], [0, 9])).toEqual([0, 1, 2]);
  expect(brokerOnly([4, 12], [0, 14])).toEqual([0, 1, 2, 3, 13, 14]);
  expect(brokerOnly([3, 13], null)).toEqual([]);
});

const settings = { connection: { bootstrap: '127.0.0.1:1' }, topicPrefix: 'p-', checkTimeoutMs: 50, deadline: Date.now() + 60_000 };

test('a check passes with its detail, fails on a throw or its time bound, and ends unsupported or skipped when told', async () => {
  const context = new Context(settings);
  await context.run('produce', 'ok', [Produce], async () => 'fine');
  await context.run('produce', 'broken', [Produce], async () => {
    throw new Error('boom');
  });
  await context.run('fetch', 'slow', [Fetch], () => new Promise<string>(() => {}));
  await context.run('fetch', 'lacking', [Fetch], async () => {
    throw new CheckOutcome('unsupported', 'no Fetch');
  });
  await context.run('fetch', 'not here', [], async () => skipped('reason'));
  expect(context.checks.map(({ name, result, detail }) => [name, result, detail])).toEqual([
    ['ok', 'pass', 'fine'],
    ['broken', 'fail', 'boom'],
    ['slow', 'fail', 'did not finish within 50 ms'],
    ['lacking', 'unsupported', 'no Fetch'],
    ['not here', 'skipped', 'reason'],
  ]);
});

test('after the total bound, checks are skipped without running', async () => {
  const context = new Context({ ...settings, deadline: Date.now() - 1 });
  let ran = false;
  await context.run('codecs', 'codec none', [], async () => {
    ran = true;
    return '';
  });
  expect(ran).toBe(false);
  expect(context.checks[0]?.result).toBe('skipped');
});

test('common() makes a check unsupported when the broker offers no version of ours', async () => {
  const context = new Context(settings);
  context.brokerVersions.set(Fetch.apiKey, [0, 3]);
  await context.run('fetch', 'fetch', [Fetch], async () => `${context.common(Fetch)}`);
  await context.run('produce', 'produce', [Produce], async () => `${context.common(Produce)}`);
  expect(context.checks.map(({ result, detail }) => [result, detail])).toEqual([
    ['unsupported', 'the broker offers Fetch v0-3, kafka-wire speaks v4-18'],
    ['unsupported', 'the broker does not offer Produce'],
  ]);
});

test('apiRows: failed beats everything, then unsupported, then passed when exercised, else skipped', () => {
  const context = new Context(settings) as Pick<ConformanceContext, 'checks' | 'exercised' | 'brokerVersions'>;
  for (const api of API_DEFINITIONS.values()) context.brokerVersions.set(api.apiKey, [api.request.minVersion, api.request.maxVersion]);
  context.brokerVersions.set(Fetch.apiKey, [0, 3]);
  context.brokerVersions.delete(61);
  context.exercised.set(Produce.apiKey, new Set([5, 3, 4]));
  context.exercised.set(3, new Set([12]));
  context.checks.push({ group: 'metadata', name: 'metadata', result: 'fail', detail: 'x', durationMs: 1, apis: [3] });
  const rows = new Map(apiRows(context).map((row) => [row.key, row]));
  expect(rows.size).toBe(API_DEFINITIONS.size);
  expect(rows.get(Produce.apiKey)).toMatchObject({ result: 'pass', exercised: [3, 4, 5], ourVersions: [3, 13] });
  expect(rows.get(3)).toMatchObject({ result: 'fail', detail: 'failed: metadata / metadata' });
  expect(rows.get(Fetch.apiKey)).toMatchObject({ result: 'unsupported', brokerVersions: [0, 3] });
  expect(rows.get(61)).toMatchObject({ result: 'unsupported', brokerVersions: null });
  expect(rows.get(11)).toMatchObject({ result: 'skipped', exercised: [] });
});

test('apiVersionsFrame: request header v2 at the version asked, then a v3-shaped body', () => {
  const frame = apiVersionsFrame(5, 0x01020304, 'ab');
  expect(frame.readInt32BE(0)).toBe(frame.length - 4);
  expect(frame.subarray(4, 16).toString('hex')).toBe(
    [
      '0012', // api key 18 (ApiVersions)
      '0005', // api version 5
      '01020304', // correlation id
      '0002', // client id length (header v2 keeps int16 strings here)
      '6162', // "ab"
    ].join(''),
  );
  expect(frame[16]).toBe(0); // header tagged fields: none
  expect(frame[17]).toBe('kafka-wire'.length + 1); // compact string length of the client software name
  expect(frame.at(-1)).toBe(0); // body tagged fields: none
});

test('the clean-up runs past the total bound, and is recorded only when it fails if asked so', async () => {
  const told: string[] = [];
  const context = new Context({ ...settings, deadline: Date.now() - 1, onCheck: (check) => told.push(`${check.name} ${check.result}`) });
  let ran = 0;
  await context.run('admin', 'delete topics', [], async () => `deleted ${++ran}`, { always: true });
  await context.run('admin', 'quiet', [], async () => `deleted ${++ran}`, { always: true, onlyIfFailed: true });
  await context.run(
    'admin',
    'loud',
    [],
    async () => {
      ran++;
      throw new Error('left behind');
    },
    { always: true, onlyIfFailed: true },
  );
  expect(ran).toBe(3);
  expect(told).toEqual(['delete topics pass', 'loud fail']);
});

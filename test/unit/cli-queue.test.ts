import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { main } from '../../src/cli/main.js';
import { DurableProducer } from '../../src/durable/durable-producer.js';

const dir = mkdtempSync(join(tmpdir(), 'kw-queue-status-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await main(argv, (line) => lines.push(line));
  return { code, lines };
}

test('queue status: records accepted while no broker answers, counted by partition, and the age of the oldest', async () => {
  // Port 9 on loopback refuses connections: the records stay in the journal.
  const producer = await DurableProducer.open({ bootstrap: '127.0.0.1:9', durable: { dir, sync: 'always' } });
  for (let i = 0; i < 5; i++) await producer.enqueue({ topic: 'later', key: `k${i}`, value: `v${i}`, timestamp: Date.now() - 90_000 });
  await producer.enqueue({ topic: 'later', partition: 2, value: 'fixed' });
  await producer.close(200);

  const text = await run(['queue', 'status', dir]);
  expect(text.code).toBe(0);
  // The 6 records and their topic's declaration.
  expect(text.lines[0]).toMatch(/: 7 entries, \d+ bytes in 1 segment\(s\); held by (pid \d+ \(not running\)|none)/);
  expect(text.lines[1]).toBe('producer: none yet; unacknowledged: 6 record(s) (0 batch(es) that may be on the broker); oldest: 90 s');
  expect(text.lines.slice(2)).toEqual(['  later (partition not chosen yet): 5', '  later partition 2: 1']);

  const json = await run(['queue', 'status', dir, '--json']);
  const parsed = JSON.parse(json.lines.join('\n'));
  expect(parsed).toMatchObject({ entries: 7, unacknowledged: 6, inDoubtBatches: 0 });
  expect(parsed.producer).toBeUndefined();
  expect(parsed.byPartition).toEqual([
    { topic: 'later', partition: -1, records: 5 },
    { topic: 'later', partition: 2, records: 1 },
  ]);
});

test('queue status without a directory is a usage error', async () => {
  expect((await run(['queue', 'status'])).code).toBe(2);
});

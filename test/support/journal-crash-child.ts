/**
 * A process that writes a journal until it is killed, run by journal-crash.test.ts.
 *
 * argv: dir sync mode
 * - mode 'append': prints "open <nextId>", reads back and checks every entry on disk (printing
 *   "verified <count> <bad>"), then appends the test payloads 100 per turn, forever, printing
 *   "durable <id>" as each turn's promise resolves. stdout is a pipe, which Node writes
 *   synchronously on Linux: a line printed is a line the parent sees, however the child dies.
 * - mode 'hold': opens the journal, prints "ready" and waits.
 */
import { Journal } from '../../src/durable/journal.js';
import type { JournalSync } from '../../src/durable/journal-options.js';
import { allGenuine, payloadFor, typeFor } from './journal-payloads.js';

const [dir, sync, mode] = process.argv.slice(2) as [string, JournalSync, 'append' | 'hold'];
const { journal } = await Journal.open({ dir, sync, segmentBytes: 64 * 1024, syncIntervalMs: 5 });
const say = (line: string) => process.stdout.write(`${line}\n`);

if (mode === 'hold') {
  say('ready');
  setInterval(() => {}, 60_000);
} else {
  say(`open ${journal.nextId}`);
  let count = 0;
  let bad = 0;
  for await (const entry of journal.readFrom(1)) {
    count++;
    if (!allGenuine([entry])) bad++;
  }
  say(`verified ${count} ${bad}`);
  for (;;) {
    let last: ReturnType<Journal['append']> | undefined;
    for (let i = 0; i < 100; i++) {
      const id = journal.nextId;
      last = journal.append(typeFor(id), payloadFor(id));
    }
    const { id, durable } = last!;
    void durable.then(() => say(`durable ${id}`));
    await new Promise((resolve) => setImmediate(resolve));
  }
}

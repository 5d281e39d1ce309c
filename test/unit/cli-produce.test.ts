import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { afterEach, expect, test, vi } from 'vitest';
import { listenForInterrupts, untilAborted } from '../../src/cli/interrupt.js';
import { produceLines, type RecordSink } from '../../src/cli/produce-command.js';
import { Progress } from '../../src/cli/progress.js';
import type { ProducerRecord } from '../../src/producer/producer.js';

/** Console mode and Ctrl-C with a fake producer; the real thing is in test/integration/cli-produce-*.test.ts. */

/** Holds every send until flush() (which delivers them) or fail(). */
class FakeSink implements RecordSink {
  readonly sent: ProducerRecord[] = [];
  flushes = 0;
  private readonly pending: { resolve: () => void; reject: (error: Error) => void }[] = [];

  send(record: ProducerRecord): Promise<unknown> {
    this.sent.push(record);
    return new Promise<void>((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  async flush(): Promise<void> {
    this.flushes++;
    for (const send of this.pending.splice(0)) send.resolve();
  }

  /** Fails the oldest unsettled send. */
  failOldest(error: Error): void {
    this.pending.shift()?.reject(error);
  }
}

const values = (sink: FakeSink) => sink.sent.map((record) => `${record.key ?? ''}|${record.value}`);

test('console mode: one record per line until the end of input, then a flush', async () => {
  const input = new PassThrough();
  const sink = new FakeSink();
  input.end('k1=a\nk2=b=c\nno-separator\n');
  const result = await produceLines(input, () => sink, { topic: 't', keySeparator: '=', partition: 1 });
  expect(result).toEqual({ lines: 3, records: 2, failures: 1, firstError: 'line 3 has no key separator "="', stoppedBy: undefined });
  expect(values(sink)).toEqual(['k1|a', 'k2|b=c']);
  expect(sink.sent.every((record) => record.topic === 't' && record.partition === 1)).toBe(true);
  expect(sink.flushes).toBe(1);
});

test('Ctrl-C: reading stops although the input stays open, and what was read is flushed and counted', async () => {
  const input = new PassThrough();
  const sink = new FakeSink();
  const interrupt = new AbortController();
  const done = produceLines(input, () => sink, { topic: 't', signal: interrupt.signal });
  input.write('a\nb\nc\n');
  await vi.waitFor(() => expect(sink.sent).toHaveLength(3));
  interrupt.abort();
  const result = await done;
  expect(result).toEqual({ lines: 3, records: 3, failures: 0, firstError: undefined, stoppedBy: 'interrupt' });
  expect(sink.flushes).toBe(1);
  input.write('d\n');
  await new Promise((resolve) => setImmediate(resolve));
  expect(values(sink)).toEqual(['|a', '|b', '|c']);
});

test('Ctrl-C also ends a wait for room under --max-outstanding', async () => {
  const input = new PassThrough();
  const sink = new FakeSink();
  const interrupt = new AbortController();
  const done = produceLines(input, () => sink, { topic: 't', maxOutstanding: 2, signal: interrupt.signal });
  input.write('a\nb\nc\nd\n');
  await vi.waitFor(() => expect(sink.sent).toHaveLength(2));
  interrupt.abort();
  const result = await done;
  expect(result).toMatchObject({ records: 2, failures: 0, stoppedBy: 'interrupt' });
  expect(sink.sent).toHaveLength(2);
});

test('after the first failed record no more input is read; the records in flight settle', async () => {
  const input = new PassThrough();
  const sink = new FakeSink();
  const firstFailure = vi.fn();
  const done = produceLines(input, () => sink, { topic: 't', onFirstFailure: firstFailure });
  input.write('a\nb\nc\n');
  await vi.waitFor(() => expect(sink.sent).toHaveLength(3));
  sink.failOldest(new Error('no broker answers'));
  const result = await done; // returns although the input was never ended
  expect(result).toEqual({ lines: 3, records: 2, failures: 1, firstError: 'line 1: no broker answers', stoppedBy: 'failure' });
  expect(firstFailure).toHaveBeenCalledTimes(1);
  expect(firstFailure).toHaveBeenCalledWith(2);
  input.write('d\ne\n');
  await new Promise((resolve) => setImmediate(resolve));
  expect(sink.sent).toHaveLength(3);
});

test('no input: no producer is made', async () => {
  const input = new PassThrough();
  input.end();
  const make = vi.fn(() => new FakeSink());
  const result = await produceLines(input, make, { topic: 't' });
  expect(result).toMatchObject({ lines: 0, records: 0, failures: 0 });
  expect(make).not.toHaveBeenCalled();
});

test('interrupts: the first SIGINT aborts and says so, the second exits with 130; SIGTERM exits with 143', () => {
  for (const [name, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    const emitter = new EventEmitter();
    const onFirst = vi.fn();
    const exit = vi.fn();
    const interrupts = listenForInterrupts(onFirst, exit, emitter);
    emitter.emit(name);
    expect(interrupts.signal.aborted).toBe(true);
    expect(onFirst).toHaveBeenCalledWith(name);
    expect(exit).not.toHaveBeenCalled();
    emitter.emit(name);
    expect(exit).toHaveBeenCalledWith(code);
    expect(onFirst).toHaveBeenCalledTimes(1);
    interrupts.dispose();
    expect(emitter.listenerCount('SIGINT') + emitter.listenerCount('SIGTERM')).toBe(0);
  }
});

test('untilAborted ends a wait that would never end', async () => {
  const controller = new AbortController();
  const never = new Promise<void>(() => {});
  const waiting = untilAborted(never, controller.signal);
  controller.abort();
  await expect(waiting).resolves.toBeUndefined();
  await expect(untilAborted(Promise.resolve(), new AbortController().signal)).resolves.toBeUndefined();
});

afterEach(() => vi.useRealTimers());

test.each([false, true])('the progress line shows a status note while there is one (terminal: %s)', (tty) => {
  vi.useFakeTimers();
  const written: string[] = [];
  const stream = { isTTY: tty, columns: 160, write: (text: string) => written.push(text) > 0 } as unknown as NodeJS.WriteStream;
  let note: string | undefined = 'no broker answers';
  const progress = new Progress({
    label: 'producing',
    total: 10,
    done: () => 3,
    note: () => note,
    stream,
    ttyIntervalMs: 100,
    lineIntervalMs: 100,
  });
  progress.start();
  vi.advanceTimersByTime(100);
  expect(written.at(-1)).toContain('3/10');
  expect(written.at(-1)).toContain('(no broker answers)');
  note = undefined;
  vi.advanceTimersByTime(100);
  expect(written.at(-1)).toContain('3/10');
  expect(written.at(-1)).not.toContain('no broker answers');
  progress.finish();
});

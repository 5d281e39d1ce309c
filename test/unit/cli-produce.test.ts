import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { parseArgs, UsageError } from '../../src/cli/args.js';
import { listenForInterrupts, untilAborted } from '../../src/cli/interrupt.js';
import { type LineTransactions, PRODUCE, produceLines, type RecordSink, transactionFlags } from '../../src/cli/produce-command.js';
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

describe('console mode in transactions (--transactional-id)', () => {
  /** A sink whose commit and abort are logged in order with the sends; a commit delivers what is pending, as commitTransaction() does. */
  class TransactionalSink extends FakeSink {
    readonly log: string[] = [];
    commitError: Error | undefined;
    /** When set, a commit waits for this before it ends. */
    commitGate: Promise<void> | undefined;

    override send(record: ProducerRecord): Promise<unknown> {
      this.log.push(`send ${record.value}`);
      return super.send(record);
    }

    readonly transactions = (records: number): LineTransactions => ({
      records,
      commit: async () => {
        this.log.push('commit');
        await this.commitGate;
        if (this.commitError) throw this.commitError;
        await this.flush();
      },
      abort: async () => {
        this.log.push('abort');
      },
    });
  }

  test('a commit after every N records, and the rest committed at the end of input', async () => {
    const input = new PassThrough();
    const sink = new TransactionalSink();
    input.end('a\nb\nc\nd\ne\n');
    const result = await produceLines(input, () => sink, { topic: 't', transactions: sink.transactions(2) });
    expect(sink.log).toEqual(['send a', 'send b', 'commit', 'send c', 'send d', 'commit', 'send e', 'commit']);
    expect(result).toMatchObject({ lines: 5, records: 5, failures: 0, firstError: undefined, stoppedBy: undefined });
    expect(result.transactions).toEqual({ committed: 3, records: 5, abortedRecords: 0 });
  });

  test('input that ends on a commit leaves no empty transaction to commit', async () => {
    const input = new PassThrough();
    const sink = new TransactionalSink();
    input.end('a\nb\nc\nd\n');
    const result = await produceLines(input, () => sink, { topic: 't', transactions: sink.transactions(2) });
    expect(sink.log.filter((entry) => entry === 'commit')).toHaveLength(2);
    expect(result.transactions).toEqual({ committed: 2, records: 4, abortedRecords: 0 });
  });

  test('no more is read until the commit is done', async () => {
    const input = new PassThrough();
    const sink = new TransactionalSink();
    let open: (() => void) | undefined;
    sink.commitGate = new Promise((resolve) => {
      open = resolve;
    });
    const done = produceLines(input, () => sink, { topic: 't', transactions: sink.transactions(2) });
    input.end('a\nb\nc\n');
    await vi.waitFor(() => expect(sink.log).toEqual(['send a', 'send b', 'commit']));
    await new Promise((resolve) => setImmediate(resolve));
    expect(sink.log).toEqual(['send a', 'send b', 'commit']);
    open?.();
    const result = await done;
    expect(sink.log).toEqual(['send a', 'send b', 'commit', 'send c', 'commit']);
    expect(result.transactions).toEqual({ committed: 2, records: 3, abortedRecords: 0 });
  });

  test('Ctrl-C: what was read is delivered, then the open transaction is aborted; committed ones stay', async () => {
    const input = new PassThrough();
    const sink = new TransactionalSink();
    const interrupt = new AbortController();
    const done = produceLines(input, () => sink, { topic: 't', signal: interrupt.signal, transactions: sink.transactions(2) });
    input.write('a\nb\nc\n');
    await vi.waitFor(() => expect(sink.sent).toHaveLength(3));
    interrupt.abort();
    const result = await done;
    expect(sink.log).toEqual(['send a', 'send b', 'commit', 'send c', 'abort']);
    expect(result).toMatchObject({ records: 3, failures: 0, firstError: undefined, stoppedBy: 'interrupt' });
    expect(result.transactions).toEqual({ committed: 1, records: 2, abortedRecords: 1 });
  });

  test('a failed record: reading stops and the open transaction is aborted, not committed', async () => {
    const input = new PassThrough();
    const sink = new TransactionalSink();
    const done = produceLines(input, () => sink, { topic: 't', transactions: sink.transactions(10) });
    input.write('a\nb\n');
    await vi.waitFor(() => expect(sink.sent).toHaveLength(2));
    sink.failOldest(new Error('TOPIC_AUTHORIZATION_FAILED'));
    const result = await done;
    expect(sink.log).toEqual(['send a', 'send b', 'abort']);
    expect(result).toMatchObject({ failures: 1, firstError: 'line 1: TOPIC_AUTHORIZATION_FAILED', stoppedBy: 'failure' });
    expect(result.transactions).toEqual({ committed: 0, records: 0, abortedRecords: 2 });
  });

  test('a commit that fails stops reading, is reported, and its transaction is aborted', async () => {
    const input = new PassThrough();
    const sink = new TransactionalSink();
    sink.commitError = new Error('producer fenced');
    const done = produceLines(input, () => sink, { topic: 't', transactions: sink.transactions(2) });
    input.write('a\nb\nc\n');
    const result = await done; // returns although the input was never ended
    expect(sink.log).toEqual(['send a', 'send b', 'commit', 'abort']);
    expect(result).toMatchObject({ firstError: 'commit of a transaction of 2 record(s): producer fenced', stoppedBy: 'failure' });
    expect(result.transactions).toEqual({ committed: 0, records: 0, abortedRecords: 2 });
  });
});

describe('--transactional-id and --transaction-records', () => {
  const flags = (...argv: string[]) => transactionFlags(parseArgs(['t', ...argv], PRODUCE.spec));

  test('without --transactional-id: no transactions', () => {
    expect(flags()).toBeUndefined();
    expect(flags('--acks', '1', '--count', '10')).toBeUndefined();
  });

  test('a transactional id, with 1000 records per transaction unless --transaction-records says otherwise', () => {
    expect(flags('--transactional-id', 'loader-1')).toEqual({ transactionalId: 'loader-1', records: 1000 });
    expect(flags('--transactional-id=loader-1', '--transaction-records', '50')).toEqual({ transactionalId: 'loader-1', records: 50 });
    expect(flags('--transactional-id', 'x', '--acks', 'all')).toEqual({ transactionalId: 'x', records: 1000 });
  });

  test.each([
    [['--transaction-records', '5'], '--transaction-records needs --transactional-id'],
    [['--transactional-id', 'x', '--transaction-records', '0'], '--transaction-records must be an integer ≥ 1, not "0"'],
    [['--transactional-id', 'x', '--transaction-records', 'many'], '--transaction-records must be an integer ≥ 1, not "many"'],
    [['--transactional-id='], '--transactional-id must not be empty'],
    [['--transactional-id', 'x', '--count', '10'], '--transactional-id is for console mode (records from stdin), not with --count'],
    [['--transactional-id', 'x', '--acks', '1'], '--transactional-id needs --acks all (a transactional producer is idempotent)'],
  ])('%j is a usage error: %s', (argv, message) => {
    expect(() => flags(...argv)).toThrow(new UsageError(message));
  });

  test('--transactional-id needs its value', () => {
    expect(() => flags('--transactional-id')).toThrow(new UsageError('--transactional-id needs a value'));
  });

  test('the help describes both, with the default', () => {
    expect(PRODUCE.usage).toMatch(/--transactional-id ID {7}write the records in transactions under this id/);
    expect(PRODUCE.usage).toMatch(/--transaction-records N {5}commit after every N records \(default 1000\)/);
  });
});

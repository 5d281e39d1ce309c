import { Writable } from 'node:stream';
import type { RecordMetadata } from './outcomes.js';

export interface ProducerWritableOptions {
  /** Records the stream itself buffers before write() returns false (the producer's bufferMemory comes first). Default 16. */
  highWaterMark?: number;
  /** Aborts every send of the stream still waiting, as send()'s signal does. */
  signal?: AbortSignal;
}

/**
 * Sends a record; `accepted` is called once it is in a batch (before its acknowledgement). The
 * returned promise settles with the acknowledgement, as send()'s does.
 */
export type AcceptingSend = (record: unknown, accepted: () => void, options: { signal?: AbortSignal }) => Promise<RecordMetadata>;

/**
 * An object-mode Writable over a producer. A write's callback runs when its record has been
 * accepted into a batch (so a full bufferMemory holds the stream back) or has failed; the first
 * failure destroys the stream with its error. final() flushes and waits for every record written.
 */
export function producerWritable(options: ProducerWritableOptions, send: AcceptingSend, flush: () => Promise<void>): Writable {
  const unsettled = new Set<Promise<unknown>>();
  let failure: Error | undefined;
  const stream: Writable = new Writable({
    objectMode: true,
    highWaterMark: options.highWaterMark ?? 16,
    write(record: unknown, _encoding, callback) {
      let called = false;
      const done = (error?: Error) => {
        if (called) return;
        called = true;
        callback(error);
      };
      const delivery = send(record, () => done(), { signal: options.signal }).then(
        () => undefined,
        (error: Error) => {
          failure ??= error;
          // Accepted already: the write has completed, so the stream itself has to fail.
          if (called) stream.destroy(error);
          else done(error);
        },
      );
      unsettled.add(delivery);
      void delivery.finally(() => unsettled.delete(delivery));
    },
    final(callback) {
      flush()
        .then(() => Promise.all(unsettled))
        .then(
          () => callback(failure),
          (error: Error) => callback(error),
        );
    },
  });
  return stream;
}

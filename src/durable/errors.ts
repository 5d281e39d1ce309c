import { KafkaWireError, type KafkaWireErrorOptions } from '../errors.js';

/** Errors of the on-disk journal behind the durable producer. */
export class JournalError extends KafkaWireError {
  override name = 'JournalError';
}

/**
 * Another process (or another open Journal in this one) holds the journal's directory. Only one
 * writer may own a journal, or two would interleave entries in the same files.
 */
export class JournalLockedError extends JournalError {
  override name = 'JournalLockedError';
  constructor(
    readonly lockFile: string,
    readonly holderPid: number,
    message: string,
  ) {
    super(message);
  }
}

/** An append would take the journal past maxDiskBytes; nothing was written. Trimming acknowledged segments frees room. */
export class QueueFullError extends JournalError {
  override name = 'QueueFullError';
  constructor(message: string, options: KafkaWireErrorOptions = {}) {
    super(message, { retriable: true, ...options });
  }
}

/**
 * The filesystem refused an operation (ENOSPC, EACCES, EIO, ...). `path` is the file or directory
 * and `errno` the system's code. After a failed write or fsync the journal stops accepting appends:
 * what reached the disk is found again by the recovery of the next open.
 */
export class JournalIOError extends JournalError {
  override name = 'JournalIOError';
  constructor(
    readonly path: string,
    readonly errno: string | undefined,
    message: string,
    options: KafkaWireErrorOptions = {},
  ) {
    super(message, options);
  }
}

/**
 * An accepted record whose journal entry was found damaged (or gone) when it was read back to be
 * sent: its bytes are lost, so it is not delivered. Reported once, as the record's outcome.
 */
export class RecordLostError extends JournalError {
  override name = 'RecordLostError';
}

/** append() or readFrom() after close() began. */
export class JournalClosedError extends JournalError {
  override name = 'JournalClosedError';
}

/** An entry append() cannot take: a type outside 0-255, a payload that is not bytes or is too large. */
export class InvalidEntryError extends JournalError {
  override name = 'InvalidEntryError';
}

/** close() did not finish its writes and fsyncs within closeTimeoutMs; the lock stays held until they end. */
export class JournalTimeoutError extends JournalError {
  override name = 'JournalTimeoutError';
}

/** A filesystem error as a JournalIOError naming `path` and what was being done. */
export function ioError(doing: string, path: string, cause: unknown): JournalIOError {
  if (cause instanceof JournalIOError) return cause;
  const errno = (cause as NodeJS.ErrnoException | undefined)?.code;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new JournalIOError(path, errno, `journal: could not ${doing} ${path}: ${detail}`, { cause });
}

/**
 * Whether a batch that may be on the broker is in its log cannot be told (the broker keeps no
 * state for the producer, has seen a newer epoch, or holds other records under its numbers): the
 * batch is then sent again renumbered, and its records counted as possible duplicates.
 */
export class BatchNotLocatedError extends KafkaWireError {
  override name = 'BatchNotLocatedError';
}

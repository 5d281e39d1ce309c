/** Where a record's outcome goes once the broker (or a deadline) has settled it. */

export interface RecordMetadata {
  topic: string;
  partition: number;
  /** −1 when acks=0, or when the broker answered with DUPLICATE_SEQUENCE_NUMBER. */
  offset: bigint;
  timestamp: number;
}

/** Takes the outcome of record number `index` of a send() or sendMany() call. */
export interface RecordOutcome {
  resolved(index: number, metadata: RecordMetadata): void;
  rejected(index: number, error: Error): void;
}

/** The promise of one send(). */
export class SingleSend implements RecordOutcome {
  readonly promise: Promise<RecordMetadata>;
  private resolve!: (metadata: RecordMetadata) => void;
  private reject!: (error: Error) => void;

  constructor() {
    this.promise = new Promise<RecordMetadata>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  resolved(_index: number, metadata: RecordMetadata): void {
    this.resolve(metadata);
  }

  rejected(_index: number, error: Error): void {
    this.reject(error);
  }
}

/** The one promise of a sendMany(): settles with every record's outcome, in call order, once the last has settled. */
export class ManySends implements RecordOutcome {
  readonly promise: Promise<PromiseSettledResult<RecordMetadata>[]>;
  private readonly results: PromiseSettledResult<RecordMetadata>[];
  private left: number;
  private resolve!: (results: PromiseSettledResult<RecordMetadata>[]) => void;

  constructor(count: number) {
    this.results = new Array(count);
    this.left = count;
    this.promise = new Promise((resolve) => {
      this.resolve = resolve;
      if (count === 0) resolve([]);
    });
  }

  resolved(index: number, metadata: RecordMetadata): void {
    this.results[index] = { status: 'fulfilled', value: metadata };
    if (--this.left === 0) this.resolve(this.results);
  }

  rejected(index: number, error: Error): void {
    this.results[index] = { status: 'rejected', reason: error };
    if (--this.left === 0) this.resolve(this.results);
  }
}

/**
 * The idempotent producer's identity (KIP-98): its producer id and epoch, and the next sequence
 * number of every partition. One place decides when the epoch must be bumped (KIP-360): a batch
 * the broker never took, so that the batches after it would leave a gap in the sequence.
 */
export class ProducerState {
  producerId = -1n;
  epoch = -1;
  /** Why the epoch must be bumped before the next batch goes out; undefined when it need not be. */
  private bumpReason: string | undefined;
  /** The epoch was fenced: the next id must be a new one from InitProducerId, not a local bump. */
  private freshIdNeeded = false;
  private readonly sequences = new Map<string, number[]>();

  /** The producer has an id and its epoch is current. */
  get ready(): boolean {
    return this.producerId >= 0n && this.bumpReason === undefined;
  }

  get bumpRequested(): boolean {
    return this.bumpReason !== undefined;
  }

  /** The batches after a failed one would be out of sequence: renumber them under a new epoch (`freshId`: a new producer id). */
  requestBump(reason: string, freshId = false): void {
    this.bumpReason ??= reason;
    this.freshIdNeeded ||= freshId;
  }

  /** The sequence for a batch of `count` records of this partition, and the partition's next one moves past it. */
  takeSequence(topic: string, partition: number, count: number): number {
    let partitions = this.sequences.get(topic);
    if (!partitions) this.sequences.set(topic, (partitions = []));
    const base = partitions[partition] ?? 0;
    // Sequences wrap at 2^31 − 1, as the broker expects.
    partitions[partition] = (base + count) % 0x80000000;
    return base;
  }

  /** A fresh id from InitProducerId: every partition starts over at sequence 0. */
  assign(producerId: bigint, epoch: number): void {
    this.producerId = producerId;
    this.epoch = epoch;
    this.bumpReason = undefined;
    this.freshIdNeeded = false;
    this.sequences.clear();
  }

  /** The numbers a durable producer's journal kept across a restart: the same id and epoch, each partition where it stopped. */
  restore(producerId: bigint, epoch: number, sequences: Iterable<{ topic: string; partition: number; next: number }>): void {
    this.assign(producerId, epoch);
    for (const { topic, partition, next } of sequences) {
      let partitions = this.sequences.get(topic);
      if (!partitions) this.sequences.set(topic, (partitions = []));
      partitions[partition] = next;
    }
  }

  /** Each partition's next sequence, for a durable producer's checkpoint. */
  nextSequences(): { topic: string; partition: number; next: number }[] {
    const list: { topic: string; partition: number; next: number }[] = [];
    for (const [topic, partitions] of this.sequences) {
      partitions.forEach((next, partition) => {
        if (next !== undefined) list.push({ topic, partition, next });
      });
    }
    return list;
  }

  /**
   * KIP-360: an idempotent producer raises its own epoch (the broker takes a higher epoch from
   * sequence 0), as the Java client does. False when the epoch cannot go higher: then a new
   * producer id must be asked for.
   */
  bumpLocally(): boolean {
    if (this.producerId < 0n || this.epoch >= 32_767 || this.freshIdNeeded) return false;
    this.assign(this.producerId, this.epoch + 1);
    return true;
  }
}

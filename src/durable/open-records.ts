/**
 * The journal ids of records accepted and not yet done (acknowledged, or failed for good), with
 * the oldest at hand: journal segments wholly older than it may be deleted. Ids are added in
 * ascending order and mostly finish in that order, so a queue with a done-set is enough.
 */
export class OpenRecords {
  private readonly ids: number[] = [];
  private head = 0;
  private readonly finished = new Set<number>();
  private count = 0;

  /** Ids must come in ascending order. */
  add(id: number): void {
    this.ids.push(id);
    this.count++;
  }

  done(id: number): void {
    if (this.finished.has(id)) return;
    this.finished.add(id);
    this.count--;
    // Done ones at the front leave; the rest wait for those before them.
    while (this.head < this.ids.length && this.finished.delete(this.ids[this.head] as number)) this.head++;
    if (this.head > 4096 && this.head * 2 > this.ids.length) {
      this.ids.splice(0, this.head);
      this.head = 0;
    }
  }

  get size(): number {
    return this.count;
  }

  /** The oldest id still open; undefined when none is. */
  get oldest(): number | undefined {
    return this.head < this.ids.length ? this.ids[this.head] : undefined;
  }
}

/**
 * The journal ids of records accepted and not yet done (acknowledged, or failed for good), with
 * the oldest at hand: journal segments wholly older than it may be deleted. Ids are added in
 * ascending order and mostly finish in that order, so it is a queue: an id that finishes early is
 * found by binary search and flagged, and leaves once those before it have.
 */
export class OpenRecords {
  private ids: number[] = [];
  /** 1 where ids[i] is done but waits for an earlier one; grown with ids. */
  private finished = new Uint8Array(1024);
  private head = 0;
  private count = 0;

  /** Ids must come in ascending order. */
  add(id: number): void {
    if (this.ids.length === this.finished.length) this.compact();
    this.ids.push(id);
    this.count++;
  }

  done(id: number): void {
    const { ids } = this;
    let at = this.head;
    if (ids[at] !== id) {
      // Finished out of order: find it among the open ones (and ignore an id that is not open).
      let low = at + 1;
      let high = ids.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if ((ids[middle] as number) < id) low = middle + 1;
        else high = middle;
      }
      if (low >= ids.length || ids[low] !== id || this.finished[low] === 1) return;
      this.finished[low] = 1;
      this.count--;
      return;
    }
    this.count--;
    at++;
    while (at < ids.length && this.finished[at] === 1) this.finished[at++] = 0;
    this.head = at;
  }

  get size(): number {
    return this.count;
  }

  /** The oldest id still open; undefined when none is. */
  get oldest(): number | undefined {
    return this.head < this.ids.length ? this.ids[this.head] : undefined;
  }

  /** Drops the ids that left, and makes room for as many open ones again. */
  private compact(): void {
    const open = this.ids.length - this.head;
    const finished = new Uint8Array(Math.max(1024, open * 2));
    finished.set(this.finished.subarray(this.head, this.ids.length));
    this.ids = this.ids.slice(this.head);
    this.finished = finished;
    this.head = 0;
  }
}

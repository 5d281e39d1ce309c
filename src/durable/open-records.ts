/**
 * The journal ids of records accepted and not yet done (acknowledged, or failed for good), with
 * the oldest at hand: journal segments wholly older than it may be deleted. Ids are added in
 * ascending order and mostly finish in that order, so it is a queue: an id that finishes early is
 * found by binary search and flagged, and leaves once those before it have. Typed arrays, as a
 * million records may be open at once and every one passes through here.
 */
export class OpenRecords {
  /** Open ids (and finished ones behind an open one) in [head, tail). */
  private ids = new Float64Array(1024);
  /** 1 where ids[i] finished but waits for an earlier one. */
  private finished = new Uint8Array(1024);
  private head = 0;
  private tail = 0;
  private count = 0;

  /** Ids must come in ascending order. */
  add(id: number): void {
    if (this.tail === this.ids.length) this.makeRoom();
    this.ids[this.tail++] = id;
    this.count++;
  }

  /** Marks `id` done; false if it was not open. */
  done(id: number): boolean {
    const { ids, finished } = this;
    let at = this.head;
    if (at === this.tail) return false;
    if (ids[at] !== id) {
      // Finished out of order: find it among the open ones (and ignore an id that is not open).
      let low = at + 1;
      let high = this.tail;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if ((ids[middle] as number) < id) low = middle + 1;
        else high = middle;
      }
      if (low >= this.tail || ids[low] !== id || finished[low] === 1) return false;
      finished[low] = 1;
      this.count--;
      return true;
    }
    this.count--;
    at++;
    while (at < this.tail && finished[at] === 1) finished[at++] = 0;
    this.head = at;
    return true;
  }

  get size(): number {
    return this.count;
  }

  /** The oldest id still open; undefined when none is. */
  get oldest(): number | undefined {
    return this.head < this.tail ? this.ids[this.head] : undefined;
  }

  /** Moves what is still queued to the front, into arrays twice its size if it fills more than half. */
  private makeRoom(): void {
    const queued = this.tail - this.head;
    if (queued * 2 > this.ids.length) {
      const ids = new Float64Array(this.ids.length * 2);
      const finished = new Uint8Array(this.ids.length * 2);
      ids.set(this.ids.subarray(this.head, this.tail));
      finished.set(this.finished.subarray(this.head, this.tail));
      this.ids = ids;
      this.finished = finished;
    } else {
      this.ids.copyWithin(0, this.head, this.tail);
      this.finished.copyWithin(0, this.head, this.tail);
      this.finished.fill(0, queued);
    }
    this.head = 0;
    this.tail = queued;
  }
}

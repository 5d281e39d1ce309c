/**
 * Reads a plain TCP socket into slabs of our own (net.connect's `onread`), bypassing the
 * Readable stream. Without it, every read goes through push(), the stream's buffer list and a
 * 'data' event, which was a tenth of the client's CPU at 20,000 one-record sends per second,
 * where each answer is a read of its own. Each read lands in the unread tail of the current
 * slab and is handed on as a view of it, so frames stay zero-copy views as before. A slab is
 * never written twice: a new one is taken when the tail gets short, and the old one lives
 * while a frame (or a partial frame the decoder keeps) still points into it.
 */
export class SlabReader {
  private slab: Buffer;
  private offset = 0;
  /** The view of the slab given for the next read. */
  private given: Buffer | undefined;
  /** Chunks read before a consumer was attached (the broker speaks only when asked, so in practice none). */
  private early: Buffer[] = [];
  private consumer: ((chunk: Buffer) => void) | undefined;

  constructor(
    private readonly slabBytes = 64 * 1024,
    private readonly minReadBytes = 16 * 1024,
  ) {
    this.slab = Buffer.allocUnsafeSlow(slabBytes);
  }

  /** The socket's `onread` option. */
  get onread(): { buffer: () => Uint8Array; callback: (bytesRead: number, buffer: Uint8Array) => boolean } {
    // The callback's true keeps the socket reading (false would pause it).
    return { buffer: () => this.nextBuffer(), callback: (bytesRead, buffer) => this.read(bytesRead, buffer as Buffer) };
  }

  /** Where chunks go from now on; chunks read before are delivered first. */
  attach(consumer: (chunk: Buffer) => void): void {
    this.consumer = consumer;
    const early = this.early;
    this.early = [];
    for (const chunk of early) consumer(chunk);
  }

  private nextBuffer(): Buffer {
    if (this.slab.length - this.offset < this.minReadBytes) {
      // Slow: memory of its own, never a share of Node's pool that other code writes to.
      this.slab = Buffer.allocUnsafeSlow(this.slabBytes);
      this.offset = 0;
    }
    this.given = this.slab.subarray(this.offset);
    return this.given;
  }

  private read(bytesRead: number, buffer: Buffer): true {
    const chunk = buffer.subarray(0, bytesRead);
    // Anything but the view we gave (not seen from Node) retires the slab rather than risk writing over a chunk.
    this.offset = buffer === this.given ? this.offset + bytesRead : this.slab.length;
    if (this.consumer) this.consumer(chunk);
    else this.early.push(chunk);
    return true;
  }
}

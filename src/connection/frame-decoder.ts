import { KafkaWireError } from '../errors.js';

/**
 * Splits a byte stream into size-prefixed frames. Chunks are kept in a list and each frame is
 * copied out once (or viewed in place when it lies within one chunk), so many frames in one
 * chunk, frames split across many chunks and large frames all cost linear time.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  /** Index of the first chunk still holding unread bytes (dropped chunks are compacted away in batches). */
  private first = 0;
  /** Offset of the first unread byte in chunks[first]. */
  private head = 0;
  private buffered = 0;

  constructor(private readonly maxFrameBytes: number) {}

  get pendingBytes(): number {
    return this.buffered;
  }

  /** Adds a chunk and returns every frame it completes (without their size prefixes). Throws FrameSizeError on a bad size. */
  push(chunk: Buffer): Buffer[] {
    if (chunk.length === 0) return [];
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    while (this.buffered >= 4) {
      const size = this.peekInt32();
      if (size < 0 || size > this.maxFrameBytes) throw new FrameSizeError(size, this.maxFrameBytes);
      if (this.buffered < 4 + size) break;
      this.skip(4);
      frames.push(this.take(size));
    }
    return frames;
  }

  private peekInt32(): number {
    const first = this.chunks[this.first] as Buffer;
    if (first.length - this.head >= 4) return first.readInt32BE(this.head);
    const bytes = Buffer.allocUnsafe(4);
    this.copyOut(bytes, 4, false);
    return bytes.readInt32BE(0);
  }

  private skip(count: number): void {
    this.copyOut(undefined, count, true);
  }

  private take(size: number): Buffer {
    const first = this.chunks[this.first];
    if (first && first.length - this.head >= size) {
      const frame = first.subarray(this.head, this.head + size);
      this.advance(size);
      return frame;
    }
    const frame = Buffer.allocUnsafe(size);
    this.copyOut(frame, size, true);
    return frame;
  }

  /** Copies `count` bytes from the front into `target` (if given); consumes them when `consume`. */
  private copyOut(target: Buffer | undefined, count: number, consume: boolean): void {
    let copied = 0;
    let index = this.first;
    let offset = this.head;
    while (copied < count) {
      const chunk = this.chunks[index] as Buffer;
      const n = Math.min(chunk.length - offset, count - copied);
      if (target) chunk.copy(target, copied, offset, offset + n);
      copied += n;
      offset += n;
      if (offset === chunk.length) {
        index++;
        offset = 0;
      }
    }
    if (consume) this.advance(count);
  }

  private advance(count: number): void {
    this.buffered -= count;
    let left = count;
    while (left > 0) {
      const first = this.chunks[this.first] as Buffer;
      const available = first.length - this.head;
      if (left < available) {
        this.head += left;
        break;
      }
      left -= available;
      this.first++;
      this.head = 0;
    }
    if (this.first === this.chunks.length) {
      this.chunks = [];
      this.first = 0;
    } else if (this.first > 64) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }
}

export class FrameSizeError extends KafkaWireError {
  override name = 'FrameSizeError';
  constructor(
    readonly size: number,
    readonly maxFrameBytes: number,
  ) {
    super(`frame size ${size} is ${size < 0 ? 'negative' : `over the ${maxFrameBytes}-byte limit`}`);
  }
}

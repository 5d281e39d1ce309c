import type { FileHandle } from 'node:fs/promises';
import { ioError, JournalIOError } from './errors.js';

/**
 * Reads a file through a window of `chunkBytes`, so frames are parsed from memory and the disk is
 * read in large sequential pieces. Each refill gets a new buffer: views handed out earlier stay
 * valid (an entry's payload is such a view).
 */
export class SegmentWindow {
  private buffer: Buffer = Buffer.alloc(0);
  private start = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly path: string,
    /** Bytes of the file that may be read. */
    readonly size: number,
    private readonly chunkBytes: number,
  ) {}

  /** [offset, offset + length) if the window holds it already; the fast path of a parse loop. */
  loaded(offset: number, length: number): Buffer | undefined {
    const from = offset - this.start;
    if (from < 0 || from + length > this.buffer.length) return undefined;
    return this.buffer.subarray(from, from + length);
  }

  /** [offset, offset + length), reading from the file; the caller keeps offset + length within size. */
  async load(offset: number, length: number): Promise<Buffer> {
    const want = Math.min(Math.max(this.chunkBytes, length), this.size - offset);
    const buffer = Buffer.allocUnsafe(want);
    let filled = 0;
    try {
      while (filled < want) {
        const { bytesRead } = await this.handle.read(buffer, filled, want - filled, offset + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
    } catch (error) {
      throw ioError('read', this.path, error);
    }
    if (filled < length) {
      throw new JournalIOError(this.path, undefined, `journal: ${this.path} ended at ${offset + filled} bytes, before ${offset + length}`);
    }
    this.buffer = buffer.subarray(0, filled);
    this.start = offset;
    return this.buffer.subarray(0, length);
  }

  async bytes(offset: number, length: number): Promise<Buffer> {
    return this.loaded(offset, length) ?? (await this.load(offset, length));
  }
}

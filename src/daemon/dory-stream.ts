import { DORY_HEADER_BYTES, DoryMessageError } from './dory-message.js';

export interface DoryStreamEvents {
  /** A whole message's bytes (valid for this call only: the reader may reuse them). */
  frame(frame: Buffer): void;
  /** A message whose size field passes maxMessageBytes: its bytes are skipped as they come. */
  tooLarge(size: number): void;
}

/**
 * Cuts the byte stream of a UNIX stream or TCP client into Dory messages by their size fields.
 * Chunks given to push() must not be changed afterwards (a socket's are not).
 * A message larger than maxMessageBytes is skipped (its size says where the next begins); a
 * size field below the 8-byte header leaves no way to find the next message, so push() throws
 * DoryMessageError('malformed') and the connection must be closed.
 */
export class DoryStreamReader {
  /** The start of an unfinished message, chunk by chunk (joined once it is whole, not at every chunk). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The unfinished message's size, once its size field has come. */
  private needed: number | undefined;
  /** Bytes of a too-large message still to skip. */
  private skipping = 0;

  constructor(private readonly maxMessageBytes: number) {}

  /** Bytes of a message begun and not finished: what a client that disconnects now leaves half sent. */
  get partialBytes(): number {
    return this.pendingBytes + this.skipping;
  }

  push(chunk: Buffer, events: DoryStreamEvents): void {
    let data = chunk;
    if (this.skipping > 0) {
      const skipped = Math.min(this.skipping, data.length);
      this.skipping -= skipped;
      data = data.subarray(skipped);
    }
    if (this.pendingBytes > 0) {
      this.pending.push(data);
      this.pendingBytes += data.length;
      if (this.needed === undefined && this.pendingBytes >= 4) this.needed = Buffer.concat(this.pending).readInt32BE(0);
      if (this.needed !== undefined && this.pendingBytes < this.needed) return;
      data = Buffer.concat(this.pending);
      this.pending = [];
      this.pendingBytes = 0;
      this.needed = undefined;
    }
    let at = 0;
    while (data.length - at >= 4) {
      const size = data.readInt32BE(at);
      if (size < DORY_HEADER_BYTES) {
        throw new DoryMessageError('malformed', `malformed message: its size field says ${size} bytes, less than the 8-byte header`);
      }
      if (size > this.maxMessageBytes) {
        events.tooLarge(size);
        const here = Math.min(size, data.length - at);
        at += here;
        this.skipping = size - here;
        continue;
      }
      if (data.length - at < size) break;
      events.frame(data.subarray(at, at + size));
      at += size;
    }
    // What is left begins a message: kept (a socket's chunks are not reused, so no copy is needed).
    if (at < data.length) {
      this.pending = [data.subarray(at)];
      this.pendingBytes = data.length - at;
      this.needed = this.pendingBytes >= 4 ? data.readInt32BE(at) : undefined;
    }
  }
}

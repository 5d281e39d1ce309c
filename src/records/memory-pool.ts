/** Memory for batches and requests, reused across requests instead of allocated anew for each. */

export interface PooledBuffer {
  /** Exactly the size asked for (a view into a larger pooled block). */
  readonly buffer: Buffer;
  /** Gives the memory back; the buffer must not be used afterwards. */
  release(): void;
}

export interface BufferPoolOptions {
  /** Most bytes kept in free lists; blocks released beyond it are left to the garbage collector. */
  maxPooledBytes?: number;
  /** Fill released memory with 0xDE, so a use after release shows up as poison (debug and tests). */
  poison?: boolean;
}

const MIN_BLOCK = 1024;
const MAX_POOLED_BLOCK = 8 * 1024 * 1024;
export const POISON_BYTE = 0xde;

/**
 * Power-of-two size classes from 1 KiB to 8 MiB with a free list each. Larger requests get
 * plain allocations. Released blocks go back to their free list, up to maxPooledBytes.
 */
export class MemoryPool {
  private readonly free = new Map<number, Buffer[]>();
  private pooledBytes = 0;
  private readonly maxPooledBytes: number;
  readonly poison: boolean;
  /** Blocks handed out and not yet released (for tests and leak checks). */
  outstanding = 0;

  constructor(options: BufferPoolOptions = {}) {
    this.maxPooledBytes = options.maxPooledBytes ?? 64 * 1024 * 1024;
    this.poison = options.poison ?? process.env.KAFKA_WIRE_POOL_POISON === '1';
  }

  acquire(size: number): PooledBuffer {
    if (size > MAX_POOLED_BLOCK) {
      this.outstanding++;
      let released = false;
      return {
        buffer: Buffer.allocUnsafeSlow(size),
        release: () => {
          if (released) throw new Error('pooled buffer released twice');
          released = true;
          this.outstanding--;
        },
      };
    }
    const blockSize = Math.max(MIN_BLOCK, 2 ** Math.ceil(Math.log2(Math.max(1, size))));
    const list = this.free.get(blockSize);
    let block = list?.pop();
    if (block) this.pooledBytes -= blockSize;
    else block = Buffer.allocUnsafeSlow(blockSize);
    this.outstanding++;
    let released = false;
    const owned = block;
    return {
      buffer: owned.subarray(0, size),
      release: () => {
        if (released) throw new Error('pooled buffer released twice');
        released = true;
        this.outstanding--;
        if (this.poison) owned.fill(POISON_BYTE);
        if (this.pooledBytes + blockSize > this.maxPooledBytes) return;
        this.pooledBytes += blockSize;
        let freeList = this.free.get(blockSize);
        if (!freeList) this.free.set(blockSize, (freeList = []));
        freeList.push(owned);
      },
    };
  }
}

/** The pool the producer path uses unless it is given another. */
export const defaultMemoryPool = new MemoryPool();

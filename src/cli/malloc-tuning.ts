/**
 * glibc's malloc raises its mmap threshold to the size of the largest mmapped block freed (up to
 * 32 MiB). After that, a long-running daemon's large, short-lived buffers (journal read windows,
 * Produce requests; journal arenas too when more than the four a journal keeps for reuse are
 * busy) come from the main heap among small long-lived blocks, and
 * the heap keeps the freed space: in a 9-minute soak through rolling faults the daemon's RSS grew
 * 57 MB in 5 minutes with its heap and Buffers flat, and malloc_trim(0) gave back 186 MB. With the
 * threshold fixed at 64 KiB (setting it turns the dynamic raise off) such buffers are mmapped and
 * returned when freed: the same soak grew 1 MB.
 *
 * glibc reads MALLOC_MMAP_THRESHOLD_ once, at start-up, so the daemon re-executes itself with it
 * set (process.execve: the same pid, the same standard streams). Set the variable yourself to
 * choose another value, or KAFKA_WIRE_MALLOC_TUNING=off to run as started.
 */
export const MMAP_THRESHOLD_BYTES = 64 * 1024;

/** Re-executes this process with the threshold set, unless it is set, turned off, or this is not Linux with process.execve. */
export function reexecWithMallocTuning(): void {
  const env = process.env;
  if (process.platform !== 'linux' || typeof process.execve !== 'function') return;
  if (env.MALLOC_MMAP_THRESHOLD_ !== undefined || env.KAFKA_WIRE_MALLOC_TUNING === 'off') return;
  const args = [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  try {
    process.execve(process.execPath, args, { ...env, MALLOC_MMAP_THRESHOLD_: String(MMAP_THRESHOLD_BYTES) });
  } catch (error) {
    // The process goes on unchanged (execve failed, e.g. the node binary is gone): only the tuning is lost.
    console.error(`kafka-wire daemon: running without the malloc tuning: ${(error as Error).message}`);
  }
}

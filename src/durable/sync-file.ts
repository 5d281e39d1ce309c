import { open } from 'node:fs/promises';
import { ioError } from './errors.js';

/** fsync of a file or directory by path. */
export async function syncFile(path: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, 'r');
    await handle.sync();
  } catch (error) {
    throw ioError('fsync', path, error);
  } finally {
    await handle?.close().catch(() => {});
  }
}

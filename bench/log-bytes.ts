import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The bytes an embedded broker's log holds for a topic: the sizes of its partitions' segment
 * files (`<log.dirs>/<topic>-<partition>/*.log`), which are exactly the record batches appended
 * (Kafka does not preallocate segments unless log.preallocate is set, and the bench's broker
 * does not). Read right after a run, before retention or compaction could touch them. This is
 * what a client's batching and compression cost the broker's disk, the same for every client
 * since they send the same records. undefined where a partition's directory is not found (an
 * external broker, or the topic on no listed directory).
 */
export function topicLogBytes(logDirs: readonly string[], topic: string, partitions: number): number | undefined {
  let total = 0;
  for (let partition = 0; partition < partitions; partition++) {
    const dir = logDirs.map((logDir) => join(logDir, `${topic}-${partition}`)).find((candidate) => isDirectory(candidate));
    if (dir === undefined) return undefined;
    for (const entry of readdirSync(dir)) if (entry.endsWith('.log')) total += statSync(join(dir, entry)).size;
  }
  return total;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import * as client from '../../src/index.js';
import * as generated from '../../src/protocol/generated/index.js';
import * as protocol from '../../src/protocol/index.js';
import * as records from '../../src/records/index.js';
import * as testing from '../../src/testing/index.js';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** Error classes that never reach a user: each is caught and turned into one of the exported errors. */
const INTERNAL_ERRORS: Record<string, string> = {
  FrameSizeError: 'src/connection/frame-decoder.ts', // becomes a PeerProtocolError
  ApiVersionsProbeError: 'src/embedded/api-versions-probe.ts', // the embedded start's readiness probe
  UsageError: 'src/cli/args.ts', // the CLI prints it without a stack trace
  JournalEntryError: 'src/durable/entries.ts', // recovery reports it and skips the entry
  DoryMessageError: 'src/daemon/dory-message.ts', // the daemon counts the message as a discard by its reason
  DatagramInputError: 'src/daemon/dgram-input.ts', // "kafka-wire daemon" prints it when its datagram input cannot start
  InputInUseError: 'src/daemon/stream-input.ts', // "kafka-wire daemon" prints it when a socket or port is taken
};

function errorClasses(dir: string): { name: string; file: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : errorClasses(path);
    if (!entry.name.endsWith('.ts')) return [];
    const file = `src/${relative(SRC, path)}`;
    return [...readFileSync(path, 'utf8').matchAll(/export class (\w+Error)\b/g)].map((match) => ({ name: match[1]!, file }));
  });
}

describe('entry points', () => {
  const errors = errorClasses(SRC);

  test('every error class a user can meet is exported: from kafka-wire, or the embedded broker’s from kafka-wire/testing', () => {
    expect(errors.length).toBeGreaterThan(15);
    for (const { name, file } of errors) {
      if (INTERNAL_ERRORS[name] === file) continue;
      const from = file.startsWith('src/embedded/') ? testing : client;
      expect(from, `${name} (${file})`).toHaveProperty(name);
    }
  });

  test('kafka-wire shows the client, not the generated codecs, which kafka-wire/protocol carries', () => {
    const codecs = Object.keys(generated);
    expect(codecs.length).toBeGreaterThan(100);
    expect(codecs.filter((name) => name in client)).toEqual([]);
    expect(codecs.filter((name) => !(name in protocol))).toEqual([]);
    for (const name of [
      'Producer',
      'Cluster',
      'Admin',
      'MetadataCache',
      'PartitionReader',
      'readPartition',
      'StickyPartitioner',
      'murmur2',
    ]) {
      expect(client).toHaveProperty(name);
    }
  });

  test('kafka-wire/records and kafka-wire/testing carry their layer', () => {
    for (const name of [
      'RecordBatchBuilder',
      'parseRecordBatches',
      'compress',
      'decompress',
      'crc32c',
      'MemoryPool',
      'encodeProduceFrame',
    ]) {
      expect(records).toHaveProperty(name);
    }
    expect(Object.keys(testing).sort()).toEqual(['DEFAULT_TESTING_CLUSTER', 'EmbeddedKafkaError', 'startKafka', 'stopKafka']);
  });
});

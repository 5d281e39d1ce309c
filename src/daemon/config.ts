import type { JournalSync } from '../durable/journal-options.js';
import { ConfigError } from '../errors.js';
import { describeValue, integerOption, objectOption, oneOfOption, stringOption } from '../option-checks.js';
import type { CompressionName } from '../records/compression.js';
import type { RateLimit, RateLimits } from './rate-limiter.js';

/** Batching and compression for a topic's messages (kafka-wire's producer settings of the same names). */
export interface TopicSettings {
  lingerMs: number;
  batchSize: number;
  compression: CompressionName;
}

/**
 * What `kafka-wire daemon` runs with, from its JSON config file and flags. Every input is off
 * unless given; TCP and HTTP listen on loopback only.
 */
export interface DaemonConfig {
  inputs: {
    /** A UNIX datagram socket: one message per datagram. */
    dgram?: string;
    /** A UNIX stream socket: messages one after another. */
    stream?: string;
    /** A loopback TCP port: messages one after another (0: any free port). */
    tcp?: number;
  };
  /** The status pages' loopback port (0: any free port); undefined: none. */
  http?: number;
  /** The durable queue's directory: every message read is journaled here first. */
  journal: string;
  sync: JournalSync;
  /** Larger messages are discarded as tooLarge. Default 1 MiB. */
  maxMessageBytes: number;
  /** Length of a discard reporting period. Default 10 minutes. */
  discardReportIntervalMs: number;
  rateLimits: RateLimits;
  /** Settings of topics not listed in `topics`. */
  topicDefaults: TopicSettings;
  topics: Record<string, Partial<TopicSettings>>;
}

const COMPRESSIONS: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** Checks a parsed config file (and flags merged over it); every mistake is a ConfigError naming the field. */
export function daemonConfig(raw: unknown): DaemonConfig {
  const given = objectOption<Record<string, unknown>>('config', raw) ?? {};
  const known = [
    'inputs',
    'http',
    'journal',
    'sync',
    'maxMessageBytes',
    'discardReportIntervalMs',
    'rateLimits',
    'topicDefaults',
    'topics',
  ];
  for (const key of Object.keys(given)) {
    if (!known.includes(key)) throw new ConfigError(`config has no field "${key}" (fields: ${known.join(', ')})`);
  }
  const inputsGiven = objectOption<Record<string, unknown>>('inputs', given.inputs) ?? {};
  const inputs: DaemonConfig['inputs'] = {};
  if (inputsGiven.dgram !== undefined) inputs.dgram = nonEmpty('inputs.dgram', inputsGiven.dgram);
  if (inputsGiven.stream !== undefined) inputs.stream = nonEmpty('inputs.stream', inputsGiven.stream);
  if (inputsGiven.tcp !== undefined) inputs.tcp = integerOption('inputs.tcp', inputsGiven.tcp, 'required', 0, 65_535);
  if (inputs.dgram === undefined && inputs.stream === undefined && inputs.tcp === undefined) {
    throw new ConfigError('the daemon needs at least one input: inputs.dgram, inputs.stream or inputs.tcp (--dgram, --stream, --tcp)');
  }
  if (inputs.dgram !== undefined && inputs.dgram === inputs.stream) {
    throw new ConfigError(`inputs.dgram and inputs.stream are both ${inputs.dgram}: each socket needs a path of its own`);
  }
  if (given.journal === undefined) throw new ConfigError('the daemon needs a journal directory: journal (--journal DIR)');
  const defaults = topicSettings('topicDefaults', given.topicDefaults, { lingerMs: 5, batchSize: 256 * 1024, compression: 'none' });
  const topicsGiven = objectOption<Record<string, unknown>>('topics', given.topics) ?? {};
  const topics: DaemonConfig['topics'] = {};
  for (const [name, settings] of Object.entries(topicsGiven)) topics[name] = partialTopicSettings(`topics["${name}"]`, settings);
  return {
    inputs,
    http: given.http === undefined ? undefined : integerOption('http', given.http, 'required', 0, 65_535),
    journal: nonEmpty('journal', given.journal),
    sync: oneOfOption<JournalSync>('sync', given.sync, ['none', 'interval', 'always'], 'interval'),
    maxMessageBytes: integerOption('maxMessageBytes', given.maxMessageBytes, 1 << 20, 64, 64 << 20),
    discardReportIntervalMs: integerOption('discardReportIntervalMs', given.discardReportIntervalMs, 600_000, 1000),
    rateLimits: rateLimits(given.rateLimits),
    topicDefaults: defaults,
    topics,
  };
}

/** The settings a topic's messages are produced with. */
export function settingsOf(config: DaemonConfig, topic: string): TopicSettings {
  return { ...config.topicDefaults, ...config.topics[topic] };
}

function nonEmpty(name: string, value: unknown): string {
  const text = stringOption(name, value, '');
  if (text === '') throw new ConfigError(`option ${name} must be a non-empty string, not ${describeValue(value)}`);
  return text;
}

function topicSettings(name: string, value: unknown, fallback: TopicSettings): TopicSettings {
  return { ...fallback, ...partialTopicSettings(name, value) };
}

function partialTopicSettings(name: string, value: unknown): Partial<TopicSettings> {
  const given = objectOption<Record<string, unknown>>(name, value) ?? {};
  for (const key of Object.keys(given)) {
    if (!['lingerMs', 'batchSize', 'compression'].includes(key)) {
      throw new ConfigError(`${name} has no field "${key}" (fields: lingerMs, batchSize, compression)`);
    }
  }
  const settings: Partial<TopicSettings> = {};
  if (given.lingerMs !== undefined) settings.lingerMs = integerOption(`${name}.lingerMs`, given.lingerMs, 'required', 0, 60_000);
  if (given.batchSize !== undefined) settings.batchSize = integerOption(`${name}.batchSize`, given.batchSize, 'required', 1, 64 << 20);
  if (given.compression !== undefined) settings.compression = oneOfOption(`${name}.compression`, given.compression, COMPRESSIONS, 'none');
  return settings;
}

function rateLimits(value: unknown): RateLimits {
  const given = objectOption<Record<string, unknown>>('rateLimits', value) ?? {};
  const limits: RateLimits = {};
  if (given.default !== undefined) limits.default = rateLimit('rateLimits.default', given.default);
  const topics = objectOption<Record<string, unknown>>('rateLimits.topics', given.topics);
  if (topics) {
    limits.topics = {};
    for (const [topic, limit] of Object.entries(topics)) {
      limits.topics[topic] = limit === null ? null : rateLimit(`rateLimits.topics["${topic}"]`, limit);
    }
  }
  return limits;
}

function rateLimit(name: string, value: unknown): RateLimit {
  const given = objectOption<Record<string, unknown>>(name, value) as Record<string, unknown>;
  return {
    intervalMs: integerOption(`${name}.intervalMs`, given.intervalMs, 'required', 1),
    maxCount: integerOption(`${name}.maxCount`, given.maxCount, 'required', 0),
  };
}

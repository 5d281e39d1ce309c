import { readFileSync } from 'node:fs';
import { type DaemonConfig, daemonConfig } from '../daemon/config.js';
import { Daemon } from '../daemon/daemon.js';
import { ConfigError } from '../errors.js';
import { type Command, type FlagSpec, integerFlag, type ParsedArgs, stringFlag, UsageError } from './args.js';
import { CONNECTION_OPTIONS, CONNECTION_SWITCHES, CONNECTION_USAGE, connectionOptions } from './cluster-options.js';
import { reexecWithMallocTuning } from './malloc-tuning.js';

export const DAEMON_USAGE = `usage: kafka-wire daemon [--config FILE] [options]   a Dory-compatible producer daemon

Local programs send messages in Dory's format (AnyPartition and PartitionKey, version 0) to a UNIX
datagram socket, a UNIX stream socket or a loopback TCP port, and forget them. Every message read is
journaled first (a durable producer per topic settings, under --journal), so killing the daemon loses
nothing it had read, and the next start delivers it without duplicates. Discards are counted by
reason and topic; status pages on --http.

  --config FILE               JSON configuration (see the README: inputs, http, journal, sync,
                              maxMessageBytes, discardReportIntervalMs, rateLimits, topicDefaults, topics);
                              the flags below override it
  --dgram PATH                UNIX datagram socket (needs a C compiler, cc, on first use for its relay)
  --stream PATH               UNIX stream socket
  --tcp PORT                  TCP port on 127.0.0.1 (0: any free port, printed)
  --http PORT                 status pages on 127.0.0.1:PORT: /, /status, /discards, /metrics (+ .json)
  --journal DIR               where messages are journaled until Kafka acknowledges them
  --sync none|interval|always journal durability (default interval: an fsync every 10 ms)

  SIGTERM or Ctrl-C: stop reading, journal what was read, deliver within 30 s (the rest stays in the
  journal), exit 0. SIGHUP: reread --config for rate limits, topic settings and maxMessageBytes.
  On Linux it first re-executes itself (same pid) with MALLOC_MMAP_THRESHOLD_=65536, which keeps
  glibc from holding on to freed buffers; set that variable yourself, or KAFKA_WIRE_MALLOC_TUNING=off.

${CONNECTION_USAGE}`;

const DAEMON_SPEC: FlagSpec = {
  command: 'daemon',
  options: [...CONNECTION_OPTIONS, 'config', 'dgram', 'stream', 'tcp', 'http', 'journal', 'sync'],
  switches: [...CONNECTION_SWITCHES],
};

/** How long SIGTERM waits for deliveries before leaving the rest in the journal. */
const STOP_TIMEOUT_MS = 30_000;

/** The config file with the flags over it, checked. */
function loadConfig(args: ParsedArgs): DaemonConfig {
  const file = stringFlag(args, 'config');
  let raw: Record<string, unknown> = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read --config ${file}: ${(error as Error).message}`);
    }
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(`--config ${file} is not valid JSON: ${(error as Error).message}`);
    }
  }
  const inputs = { ...((raw.inputs as object | undefined) ?? {}) } as Record<string, unknown>;
  for (const name of ['dgram', 'stream'] as const) {
    const value = stringFlag(args, name);
    if (value !== undefined) inputs[name] = value;
  }
  const tcp = integerFlag(args, 'tcp', 0, 65_535);
  if (tcp !== undefined) inputs.tcp = tcp;
  const http = integerFlag(args, 'http', 0, 65_535);
  return daemonConfig({
    ...raw,
    inputs,
    ...(http !== undefined && { http }),
    ...(stringFlag(args, 'journal') !== undefined && { journal: stringFlag(args, 'journal') }),
    ...(stringFlag(args, 'sync') !== undefined && { sync: stringFlag(args, 'sync') }),
  });
}

async function daemonCommand(args: ParsedArgs, out: (line: string) => void): Promise<number> {
  if (args.positional.length > 0) throw new UsageError(`"daemon" takes no arguments, not "${args.positional.join(' ')}"`);
  const config = loadConfig(args);
  reexecWithMallocTuning();
  const log = { info: (line: string) => out(line), warn: (line: string) => console.error(`kafka-wire daemon: ${line}`) };
  const daemon = await Daemon.start(config, connectionOptions(args), log);
  out(`ready (pid ${process.pid})`);
  return await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        out(`${signal} again: exiting now; what was read is in the journal`);
        process.exit(1);
      }
      stopping = true;
      out(`${signal}: stopping the inputs, then delivering for up to ${STOP_TIMEOUT_MS / 1000} s`);
      daemon.stop(STOP_TIMEOUT_MS).then(
        () => {
          const status = daemon.status();
          out(
            `stopped: received ${status.received.total}, delivered ${status.delivered}, discarded ${status.discarded}, ` +
              `left in the journal ${status.unacknowledged}`,
          );
          resolve(0);
        },
        (error: Error) => {
          console.error(`kafka-wire daemon: stopping failed: ${error.message}`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      let next: DaemonConfig;
      try {
        next = loadConfig(args);
      } catch (error) {
        console.error(`kafka-wire daemon: SIGHUP: the configuration was not reloaded: ${(error as Error).message}`);
        return;
      }
      daemon.reload(next).then(
        () => out('SIGHUP: rate limits, topic settings and maxMessageBytes reloaded'),
        (error: Error) => console.error(`kafka-wire daemon: SIGHUP: reload failed: ${error.message}`),
      );
    });
  });
}

export const DAEMON: Command = {
  name: 'daemon',
  summary: 'a Dory-compatible daemon: local programs send messages over UNIX/TCP sockets, journaled, delivered once',
  usage: DAEMON_USAGE,
  spec: DAEMON_SPEC,
  run: daemonCommand,
};

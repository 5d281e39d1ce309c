/**
 * `npm run kfake -- [--port-base P] [--brokers N]`: franz-go's kfake in the foreground, for
 * pointing `kafka-wire conformance` (or anything else) at it from another shell; Ctrl-C stops it.
 */
import { join } from 'node:path';
import { integerFlag, parseArgs, stringFlag, UsageError } from '../src/cli/args.js';
import { listenForInterrupts } from '../src/cli/interrupt.js';
import { stateRoot } from '../src/embedded/paths.js';
import { KfakeError, type RunningKfake, startKfake } from './kfake.js';

const USAGE = `usage: npm run kfake -- [--port-base P] [--brokers N] [--log none|error|warn|info|debug]

  builds (once) and runs franz-go's kfake, a fake Kafka cluster in one Go process, until Ctrl-C
  node n listens on P+10(n-1): +0 PLAINTEXT, +1 SASL_PLAINTEXT, +2 SSL (default P 39092, N 1)
  --log prints kfake's own log on stderr (debug shows every request, and why a connection was closed)`;

async function main(argv: string[]): Promise<number> {
  let portBase: number;
  let brokers: number;
  let kfakeLog: string | undefined;
  try {
    const args = parseArgs(argv, { command: 'kfake', options: ['port-base', 'brokers', 'log'], switches: [] });
    if (args.help) {
      console.log(USAGE);
      return 0;
    }
    portBase = integerFlag(args, 'port-base', 1024, 65_000) ?? 39_092;
    brokers = integerFlag(args, 'brokers', 1, 9) ?? 1;
    kfakeLog = stringFlag(args, 'log');
    if (kfakeLog !== undefined && !['none', 'error', 'warn', 'info', 'debug'].includes(kfakeLog)) {
      throw new UsageError(`--log must be none, error, warn, info or debug, not "${kfakeLog}"`);
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n\n${USAGE}`);
    return 2;
  }
  const dir = join(stateRoot(), `kfake-${portBase}`);
  let kfake: RunningKfake;
  try {
    kfake = await startKfake({ portBase, brokers, dir, kfakeLog, log: (line) => console.error(line) });
  } catch (error) {
    if (!(error instanceof KfakeError)) throw error;
    console.error(`${error.message}${/in use/.test(error.message) ? '\n(choose other ports with --port-base)' : ''}`);
    return 1;
  }
  const { bootstrap, sasl, caFile, kfakeVersion, franzGoVersion } = kfake.info;
  const conformance = 'npx kafka-wire conformance';
  console.log(`kfake ${kfakeVersion} (franz-go ${franzGoVersion}), pid ${kfake.info.pid}, ${brokers} broker(s) per listener
  PLAINTEXT       ${bootstrap.plaintext}
  SASL_PLAINTEXT  ${bootstrap.saslPlaintext}  user ${sasl.username} / ${sasl.password}, ${sasl.mechanisms.join(', ')}
  SSL             ${bootstrap.ssl}  CA ${caFile}

  ${conformance} --bootstrap ${bootstrap.plaintext}
  ${conformance} --bootstrap ${bootstrap.saslPlaintext} --sasl-mechanism SCRAM-SHA-256 \\
    --sasl-username ${sasl.username} --sasl-password ${sasl.password}
  ${conformance} --bootstrap ${bootstrap.ssl} --tls --tls-ca ${caFile}

Ctrl-C stops it.`);
  const interrupts = listenForInterrupts(() => {});
  try {
    const stopped = new Promise<void>((resolve) => interrupts.signal.addEventListener('abort', () => resolve(), { once: true }));
    const outcome = await Promise.race([stopped.then(() => 'stopped' as const), kfake.exited]);
    if (outcome !== 'stopped') {
      console.error(`kfake exited on its own (${outcome})`);
      return 1;
    }
    await kfake.stop();
    console.log('kfake stopped');
    return 0;
  } finally {
    interrupts.dispose();
  }
}

process.exitCode = await main(process.argv.slice(2));

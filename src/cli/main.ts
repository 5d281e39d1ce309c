import { pathToFileURL } from 'node:url';
import { ConnectionError } from '../connection/errors.js';
import { SaslError } from '../connection/sasl-mechanisms.js';
import { EmbeddedKafkaError } from '../embedded/errors.js';
import { ProducerError } from '../producer/errors.js';
import { KafkaProtocolError } from '../protocol/kafka-errors.js';
import { UsageError } from './args.js';
import { BENCH_USAGE, benchCommand } from './bench-command.js';
import { BROKER_USAGE, brokerCommand } from './broker-command.js';
import { CONSUME_USAGE, consumeCommand } from './consume-command.js';
import { DEMO_USAGE, demoCommand } from './demo.js';
import { PRODUCE_USAGE, produceCommand } from './produce-command.js';
import { TOPICS_USAGE, topicsCommand } from './topics-command.js';

const USAGE = `usage: kafka-wire <command>

  demo      produce 1,000,000 records to an embedded Kafka (or KAFKA_BOOTSTRAP), read them back and verify them
  broker    manage the embedded Apache Kafka (see "kafka-wire broker")
  topics    list, describe, create, grow and delete topics of a cluster
  produce   write records from stdin (or synthetic load with --count) to a topic
  consume   print the records of a topic
  bench     the side-by-side producer benchmark (source repository only)
  help      this text

${DEMO_USAGE}

${BROKER_USAGE}

${TOPICS_USAGE}

${PRODUCE_USAGE}

${CONSUME_USAGE}

${BENCH_USAGE}`;

export async function main(argv: string[], out: (line: string) => void = (line) => console.log(line)): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'broker':
        return await brokerCommand(rest, out);
      case 'demo':
        return await demoCommand(rest, out);
      case 'topics':
        return await topicsCommand(rest, out);
      case 'produce':
        return await produceCommand(rest, out);
      case 'consume':
        return await consumeCommand(rest, out);
      case 'bench':
        return await benchCommand(rest);
      case undefined:
      case 'help':
      case '--help':
        out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`kafka-wire: ${error.message}`);
      return 2;
    }
    if (
      error instanceof EmbeddedKafkaError ||
      error instanceof ConnectionError ||
      error instanceof KafkaProtocolError ||
      error instanceof ProducerError ||
      error instanceof SaslError
    ) {
      console.error(`kafka-wire: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}

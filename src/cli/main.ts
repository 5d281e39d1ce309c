import { pathToFileURL } from 'node:url';
import { EmbeddedKafkaError } from '../embedded/errors.js';
import { UsageError } from './args.js';
import { BROKER_USAGE, brokerCommand } from './broker-command.js';
import { demoCommand } from './demo.js';
import { TOPICS_USAGE, topicsCommand } from './topics-command.js';
import { ConnectionError } from '../connection/errors.js';
import { KafkaProtocolError } from '../protocol/kafka-errors.js';

const USAGE = `usage: kafka-wire <command>

  demo      start an embedded Kafka (or use KAFKA_BOOTSTRAP) and print the API versions it supports
  broker    manage the embedded Apache Kafka (see "kafka-wire broker")
  topics    list, describe, create, grow and delete topics of a cluster
  help      this text

${BROKER_USAGE}

${TOPICS_USAGE}`;

export async function main(argv: string[], out: (line: string) => void = (line) => console.log(line)): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'broker':
        return await brokerCommand(rest, out);
      case 'demo':
        return await demoCommand(out);
      case 'topics':
        return await topicsCommand(rest, out);
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
    if (error instanceof EmbeddedKafkaError || error instanceof ConnectionError || error instanceof KafkaProtocolError) {
      console.error(`kafka-wire: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}

import { inject } from 'vitest';

/** The broker the integration suite runs against, as the global setup provided it. */
export interface TestKafka {
  /** embedded: our JVM broker; external: KAFKA_BOOTSTRAP; testcontainers: the apache/kafka image. */
  source: 'embedded' | 'external' | 'testcontainers';
  /** Version of the embedded or container broker; null when KAFKA_BOOTSTRAP names someone else's. */
  kafkaVersion: string | null;
  /** PLAINTEXT bootstrap list, host:port[,host:port…]. */
  bootstrap: string;
  /** Embedded only: the SASL_PLAINTEXT and SSL listeners and how to log in / trust them. */
  security?: {
    saslBootstrap: string;
    sslBootstrap: string;
    sasl: { username: string; password: string; mechanisms: string[] };
    caFile: string;
  };
}

declare module 'vitest' {
  interface ProvidedContext {
    kafka: TestKafka;
  }
}

export function testKafka(): TestKafka {
  return inject('kafka');
}

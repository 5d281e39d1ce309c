/** kafka-wire's own version, sent to brokers as clientSoftwareVersion (a unit test keeps it equal to package.json's). */
export const KAFKA_WIRE_VERSION = '0.1.0';

/** What the Java runners share: the JVM flags of Kafka's own scripts. */

/** What bin/kafka-producer-perf-test.sh, bin/kafka-consumer-perf-test.sh and bin/kafka-run-class.sh give the JVM. */
export const JVM_FLAGS = [
  '-Xmx512M',
  '-server',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-XX:MaxInlineLevel=15',
  '-Djava.awt.headless=true',
];

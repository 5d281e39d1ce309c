import com.sun.management.OperatingSystemMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The bench's Java reader: Kafka's own KafkaConsumer without a consumer group, assign() of the
 * partitions and seek() to offset 0, then poll() until every partition's position is at its end
 * offset. It speaks the bench runners' JSON lines on stdout ({"started"} when its clock starts,
 * {"progress"} every 250 ms, then one {"done"}), with the CPU time of the whole JVM (all threads)
 * and the elapsed time from assign() to the last poll, and its peak RSS (VmHWM). The checksum is
 * the same as the Node runners': the sum, modulo 2^32, of the CRC-32C of every record value.
 *
 * Arguments: bootstrap topic partitionEnds(comma-separated) maxBytesPerPartition maxBytes maxWaitMs maxPollRecords
 */
public final class AssignedPartitionsReader {
  private static final long PROGRESS_EVERY_NS = 250_000_000L;

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String topic = args[1];
    long[] ends = Arrays.stream(args[2].split(",")).mapToLong(Long::parseLong).toArray();
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, "bench-java-reader");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, args[3]);
    props.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, args[4]);
    props.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, args[5]);
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, args[6]);

    Duration pollTimeout = Duration.ofMillis(Long.parseLong(args[5]));
    OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.partitionsFor(topic); // the metadata, before the clock starts, as the other clients look the topic up
      List<TopicPartition> toRead = new ArrayList<>();
      for (int partition = 0; partition < ends.length; partition++) {
        if (ends[partition] > 0) toRead.add(new TopicPartition(topic, partition));
      }
      System.out.println("{\"started\":true}");
      long cpuAtStart = os.getProcessCpuTime();
      long started = System.nanoTime();
      consumer.assign(toRead);
      for (TopicPartition partition : toRead) consumer.seek(partition, 0);
      CRC32C crc = new CRC32C();
      long records = 0;
      long checksum = 0;
      long nextProgress = started + PROGRESS_EVERY_NS;
      List<TopicPartition> left = new ArrayList<>(toRead);
      while (!left.isEmpty()) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(pollTimeout)) {
          byte[] value = record.value();
          if (value != null) {
            crc.reset();
            crc.update(value);
            checksum = (checksum + crc.getValue()) & 0xFFFFFFFFL;
          }
          records++;
        }
        left.removeIf(partition -> consumer.position(partition) >= ends[partition.partition()]);
        if (System.nanoTime() >= nextProgress) {
          System.out.println("{\"progress\":" + records + "}");
          nextProgress += PROGRESS_EVERY_NS;
        }
      }
      double elapsedMs = (System.nanoTime() - started) / 1e6;
      long cpuUs = (os.getProcessCpuTime() - cpuAtStart) / 1000;
      System.out.println(
          "{\"done\":true,\"acked\":" + records + ",\"failed\":0,\"elapsedMs\":" + elapsedMs + ",\"latencyMs\":null,\"cpuUs\":" + cpuUs
              + ",\"maxRssMb\":" + peakRssMb() + ",\"checksum\":" + checksum + "}");
    }
  }

  /** The process's peak resident set (VmHWM), in MiB. */
  private static long peakRssMb() throws Exception {
    Matcher hwm = Pattern.compile("^VmHWM:\\s+(\\d+) kB$", Pattern.MULTILINE).matcher(Files.readString(Path.of("/proc/self/status")));
    return hwm.find() ? Math.round(Long.parseLong(hwm.group(1)) / 1024.0) : 0;
  }
}

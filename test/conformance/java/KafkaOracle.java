import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Message;
import org.apache.kafka.common.protocol.MessageUtil;
import org.apache.kafka.common.protocol.Readable;

/**
 * kafka-wire's reference oracle. One JSON request per input line:
 *   {"id": 1, "message": "ProduceRequest", "version": 9, "json": {...}}
 * builds the message with Kafka's own JsonConverter, serialises it with Kafka's own code,
 * parses those bytes back with Kafka's own reader and answers on one line:
 *   {"id": 1, "bytes": "<base64>", "json": {... the parsed message, numbers as strings ...}}
 * or {"id": 1, "error": "..."}.
 */
public final class KafkaOracle {
  private static final String PACKAGE = "org.apache.kafka.common.message.";

  private record Codec(Class<?> data, Method read, Method write) {}

  private static final Map<String, Codec> CODECS = new HashMap<>();

  private static Codec codec(String message) throws ReflectiveOperationException {
    Codec codec = CODECS.get(message);
    if (codec == null) {
      Class<?> data = Class.forName(PACKAGE + message + "Data");
      Class<?> converter = Class.forName(PACKAGE + message + "DataJsonConverter");
      codec = new Codec(data, converter.getMethod("read", JsonNode.class, short.class), converter.getMethod("write", data, short.class));
      CODECS.put(message, codec);
    }
    return codec;
  }

  public static void main(String[] args) throws Exception {
    ObjectMapper reader = new ObjectMapper();
    ObjectMapper writer = JsonMapper.builder().enable(JsonWriteFeature.WRITE_NUMBERS_AS_STRINGS).build();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    BufferedWriter out = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 16);
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isEmpty()) continue;
      JsonNode request = reader.readTree(line);
      ObjectNode answer = writer.createObjectNode();
      answer.set("id", request.get("id"));
      try {
        Codec codec = codec(request.get("message").asText());
        short version = (short) request.get("version").asInt();
        Message built = (Message) codec.read().invoke(null, request.get("json"), version);
        ByteBuffer bytes = MessageUtil.toByteBufferAccessor(built, version).buffer();
        byte[] wire = MessageUtil.byteBufferToArray(bytes.duplicate());
        Message parsed = (Message) codec.data().getConstructor(Readable.class, short.class)
            .newInstance(new ByteBufferAccessor(ByteBuffer.wrap(wire)), version);
        answer.put("bytes", Base64.getEncoder().encodeToString(wire));
        answer.set("json", (JsonNode) codec.write().invoke(null, parsed, version));
      } catch (InvocationTargetException e) {
        answer.put("error", String.valueOf(e.getCause()));
      } catch (Exception e) {
        answer.put("error", String.valueOf(e));
      }
      out.write(writer.writeValueAsString(answer));
      out.newLine();
      if (!in.ready()) out.flush();
    }
    out.flush();
  }
}

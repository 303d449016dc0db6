// Reads the Strimzi resources of YAML files with the Strimzi operator's own model (io.strimzi:api,
// the release pom.xml pins), as strictly as its API server would: the apiVersion must be one the
// release serves, and every field must be one the model knows (unknown fields, wrong types and
// values outside an enum are refused). Prints one line per refusal; exits 1 if there is one.
//   java -cp "$(cat classpath)" StrimziModel.java rendered.yaml ...
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.strimzi.api.kafka.model.common.UnknownPropertyPreserving;
import io.strimzi.api.kafka.model.kafka.Kafka;
import io.strimzi.api.kafka.model.nodepool.KafkaNodePool;
import io.strimzi.api.kafka.model.topic.KafkaTopic;
import io.strimzi.api.kafka.model.user.KafkaUser;
import java.io.File;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

public class StrimziModel {
    record Kind(Class<?> type, String group, List<String> versions) {}

    static final Map<String, Kind> KINDS = Map.of(
            "Kafka", new Kind(Kafka.class, Kafka.RESOURCE_GROUP, Kafka.VERSIONS),
            "KafkaNodePool", new Kind(KafkaNodePool.class, KafkaNodePool.RESOURCE_GROUP, KafkaNodePool.VERSIONS),
            "KafkaTopic", new Kind(KafkaTopic.class, KafkaTopic.RESOURCE_GROUP, KafkaTopic.VERSIONS),
            "KafkaUser", new Kind(KafkaUser.class, KafkaUser.RESOURCE_GROUP, KafkaUser.VERSIONS));

    public static void main(String[] args) throws Exception {
        ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
        ObjectMapper strict = JsonMapper.builder()
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
                .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
                .build();
        List<String> refused = new ArrayList<>();
        int read = 0;
        for (String path : args) {
            for (JsonNode doc : yaml.readValues(yaml.getFactory().createParser(new File(path)), JsonNode.class).readAll()) {
                if (doc == null || !doc.has("kind") || !KINDS.containsKey(doc.get("kind").asText())) {
                    continue;
                }
                Kind kind = KINDS.get(doc.get("kind").asText());
                String name = doc.path("kind").asText() + "/" + doc.path("metadata").path("name").asText();
                String apiVersion = doc.path("apiVersion").asText();
                List<String> served = kind.versions().stream().map(v -> kind.group() + "/" + v).toList();
                read++;
                if (!served.contains(apiVersion)) {
                    refused.add(name + ": apiVersion " + apiVersion + " is not served by this Strimzi release (it serves " + String.join(", ", served) + ")");
                    continue;
                }
                try {
                    Object resource = strict.treeToValue(doc, kind.type());
                    unknown(resource, name, refused, new IdentityHashMap<>());
                    kept(doc.path("spec"), strict.valueToTree(resource).path("spec"), name + ".spec", refused);
                } catch (Exception e) {
                    refused.add(name + ": " + e.getMessage().lines().findFirst().orElse(""));
                }
            }
        }
        refused.forEach(System.out::println);
        System.out.println("read " + read + " Strimzi resources, refused " + refused.size());
        System.exit(refused.isEmpty() ? 0 : 1);
    }

    /** Every value given is one the model kept: an enum's value it does not know reads as null. */
    static void kept(JsonNode given, JsonNode read, String where, List<String> refused) {
        if (given.isObject()) {
            given.fields().forEachRemaining(e -> kept(e.getValue(), read.path(e.getKey()), where + "." + e.getKey(), refused));
        } else if (given.isArray()) {
            for (int i = 0; i < given.size(); i++) {
                kept(given.get(i), read.path(i), where + "[" + i + "]", refused);
            }
        } else if (read.isMissingNode() && (given.asText().equals("false") || given.asText().equals("0"))) {
            return;  // a default value, which the model does not write back
        } else if (!given.isNull() && !given.asText().equals(read.asText())) {
            refused.add(where + ": " + given + " is not a value the model knows");
        }
    }

    /** Fields the model kept aside as unknown (its classes preserve them rather than fail). */
    static void unknown(Object node, String where, List<String> refused, IdentityHashMap<Object, Boolean> seen) {
        if (node == null || node instanceof Enum<?> || seen.put(node, true) != null) {
            return;
        }
        if (node instanceof List<?> list) {
            for (int i = 0; i < list.size(); i++) {
                unknown(list.get(i), where + "[" + i + "]", refused, seen);
            }
            return;
        }
        if (!node.getClass().getName().startsWith("io.strimzi.")) {
            return;
        }
        if (node instanceof UnknownPropertyPreserving preserving && preserving.getAdditionalProperties() != null
                && !preserving.getAdditionalProperties().isEmpty()) {
            refused.add(where + ": unknown field(s) " + preserving.getAdditionalProperties().keySet());
        }
        for (Method getter : node.getClass().getMethods()) {
            String n = getter.getName();
            if (getter.getParameterCount() == 0 && !Modifier.isStatic(getter.getModifiers())
                    && n.startsWith("get") && !n.equals("getClass") && !n.equals("getAdditionalProperties")) {
                Object value;
                try {
                    value = getter.invoke(node);
                } catch (Exception e) {
                    continue;
                }
                String field = Character.toLowerCase(n.charAt(3)) + n.substring(4);
                unknown(value, where + "." + field, refused, seen);
            }
        }
    }
}

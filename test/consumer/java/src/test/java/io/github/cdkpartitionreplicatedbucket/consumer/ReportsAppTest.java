package io.github.cdkpartitionreplicatedbucket.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.cdkpartitionreplicatedbucket.PartitionReplicatedBucket;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awscdk.App;
import software.amazon.awscdk.AppProps;
import software.amazon.awscdk.Environment;
import software.amazon.awscdk.Stack;
import software.amazon.awscdk.StackProps;

/**
 * Synthesizes the README's example app ({@link ReportsApp}) with the jar jsii-pacmak built, at the
 * documented aws-cdk-lib and constructs floor, and asserts on the templates in the cloud assembly.
 *
 * <p>Run by {@code npx projen test:java}. A missing jar fails the Maven build before this test runs:
 * the test exists to prove the Java package works, so it is never skipped.
 */
class ReportsAppTest {
    // Jackson comes with jsii-runtime (it is how the Java runtime talks to node); used as it is
    // rather than declared, so this test does not choose a second version of it.
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PINNED_RUNTIME = "nodejs22.x";
    private static final String PREFIX = "reports/";

    private static JsonNode source;
    private static JsonNode destination;

    @BeforeAll
    static void synthesize() throws IOException {
        Path outdir = Paths.get(property("consumer.outdir"));
        deleteRecursively(outdir);
        App app = new App(AppProps.builder().outdir(outdir.toString()).build());
        ReportsApp.define(app);
        app.synth();
        source = template(outdir, ReportsApp.SOURCE_STACK);
        destination = template(outdir, ReportsApp.DESTINATION_STACK);
    }

    // --- the classpath is what the test claims to test ----------------------------------------

    @Test
    void classpathHasTheDocumentedFloorOfAwsCdkLibAndConstructs() throws IOException {
        String cdk = mavenVersion("software.amazon.awscdk", "aws-cdk-lib");
        String constructs = mavenVersion("software.constructs", "constructs");
        assertEquals(property("consumer.awsCdkLibVersion"), cdk, "aws-cdk-lib on the classpath");
        assertEquals(property("consumer.constructsVersion"), constructs, "constructs on the classpath");
        // The pom's pins are the floor projen pins for the TypeScript build (cdkVersion, constructsVersion).
        JsonNode devDependencies = JSON.readTree(Paths.get(property("consumer.repoRoot"), "package.json").toFile())
                .path("devDependencies");
        assertEquals(devDependencies.path("aws-cdk-lib").asText(), cdk,
                "pom.xml's aws-cdk-lib.version must equal cdkVersion in .projenrc.ts");
        assertEquals(devDependencies.path("constructs").asText(), constructs,
                "pom.xml's constructs.version must equal constructsVersion in .projenrc.ts");
    }

    @Test
    void libraryClassesComeFromTheJarJsiiPacmakJustBuilt() throws Exception {
        Path built = Paths.get(property("consumer.libraryJar"));
        assertTrue(Files.isRegularFile(built), built + " missing: run `npx projen test:java`");
        Path loaded = Paths.get(PartitionReplicatedBucket.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        assertEquals(sha256(built), sha256(loaded),
                "the library jar on the classpath (" + loaded + ") is not the one jsii-pacmak built (" + built + ")");
    }

    // --- source stack ------------------------------------------------------------------------

    @Test
    void sourceStackHasTheFifoReplicationQueue() {
        Map<String, JsonNode> queues = resources(source, "AWS::SQS::Queue");
        List<String> fifo = queues.entrySet().stream()
                .filter(e -> e.getValue().path("Properties").path("FifoQueue").asBoolean(false))
                .map(Map.Entry::getKey).collect(Collectors.toList());
        // The replication queue (content-based deduplication off, deduplication per message group) and its DLQ.
        List<String> replication = fifo.stream()
                .filter(id -> "messageGroup".equals(queues.get(id).path("Properties").path("DeduplicationScope").asText()))
                .collect(Collectors.toList());
        assertEquals(1, replication.size(), "FIFO queues: " + fifo);
        JsonNode redrive = queues.get(replication.get(0)).path("Properties").path("RedrivePolicy");
        String deadLetter = redrive.path("deadLetterTargetArn").path("Fn::GetAtt").path(0).asText();
        assertTrue(fifo.contains(deadLetter), "the replication queue's dead-letter queue is FIFO: " + redrive);
    }

    @Test
    void sourceStackHasTheVersionTable() {
        Map<String, JsonNode> tables = resources(source, "AWS::DynamoDB::Table");
        assertEquals(1, tables.size(), "tables: " + tables.keySet());
        JsonNode table = tables.values().iterator().next().path("Properties");
        assertEquals("[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"},{\"AttributeName\":\"sk\",\"KeyType\":\"RANGE\"}]",
                table.path("KeySchema").toString());
        assertEquals("PAY_PER_REQUEST", table.path("BillingMode").asText());
        assertTrue(table.path("PointInTimeRecoverySpecification").path("PointInTimeRecoveryEnabled").asBoolean(false));
    }

    @Test
    void routerAndReplicatorRunOnThePinnedNodeRuntime() {
        Map<String, JsonNode> functions = resources(source, "AWS::Lambda::Function");
        String router = onlyFunction(functions, "router",
                env -> env.has("REPLICATION_QUEUE_URL") && env.has("SOURCE_BUCKET_NAME") && !env.has("DESTINATION_REGION"));
        String replicator = onlyFunction(functions, "replicator", env -> env.has("REPLICATE_TAGS"));
        for (String id : List.of(router, replicator)) {
            assertEquals(PINNED_RUNTIME, functions.get(id).path("Properties").path("Runtime").asText(), id);
        }
        JsonNode replicatorEnv = functions.get(replicator).path("Properties").path("Environment").path("Variables");
        assertEquals("us-gov-west-1", replicatorEnv.path("DESTINATION_REGION").asText());
        assertEquals("aws-us-gov", replicatorEnv.path("DESTINATION_PARTITION").asText());
        assertEquals("reports-replica", replicatorEnv.path("DESTINATION_BUCKET_NAME").asText());
    }

    @Test
    void eventBridgeRuleSendsTheBucketsEventsUnderThePrefixToTheRouter() {
        List<String> versioned = resources(source, "AWS::S3::Bucket").entrySet().stream()
                .filter(e -> "Enabled".equals(e.getValue().path("Properties").path("VersioningConfiguration").path("Status").asText()))
                .map(Map.Entry::getKey).collect(Collectors.toList());
        assertEquals(1, versioned.size(), "versioned buckets in the source stack: " + versioned);
        String bucket = versioned.get(0);
        String router = onlyFunction(resources(source, "AWS::Lambda::Function"), "router",
                env -> env.has("REPLICATION_QUEUE_URL") && env.has("SOURCE_BUCKET_NAME") && !env.has("DESTINATION_REGION"));

        List<JsonNode> matching = new ArrayList<>();
        for (JsonNode rule : resources(source, "AWS::Events::Rule").values()) {
            JsonNode pattern = rule.path("Properties").path("EventPattern");
            boolean forBucket = pattern.path("source").toString().equals("[\"aws.s3\"]")
                    && pattern.path("detail").path("bucket").path("name").toString().equals("[{\"Ref\":\"" + bucket + "\"}]")
                    && pattern.path("detail").path("object").path("key").toString().equals("[{\"prefix\":\"" + PREFIX + "\"}]");
            boolean toRouter = false;
            for (JsonNode target : rule.path("Properties").path("Targets")) {
                toRouter |= target.path("Arn").toString().equals("{\"Fn::GetAtt\":[\"" + router + "\",\"Arn\"]}");
            }
            if (forBucket && toRouter) {
                matching.add(rule);
            }
        }
        assertEquals(1, matching.size(), "rules: " + resources(source, "AWS::Events::Rule"));
        // EventBridge notifications are switched on for the bucket, or the rule never fires.
        assertTrue(source.toString().contains("\"EventBridgeConfiguration\""), "no EventBridgeConfiguration on the source bucket");
    }

    @Test
    void invalidDestinationRegionFailsWithAJavaExceptionNamingTheProp() {
        App app = new App(AppProps.builder().outdir(property("consumer.outdir") + "-invalid").build());
        Stack stack = new Stack(app, "Invalid", StackProps.builder()
                .env(Environment.builder().account("111111111111").region("us-east-1").build()).build());
        RuntimeException error = assertThrows(RuntimeException.class, () -> PartitionReplicatedBucket.Builder
                .create(stack, "Replicated")
                .destinationBucketName("reports-replica")
                .destinationRegion("not-a-region")
                .build());
        assertNotNull(error.getMessage());
        assertTrue(error.getMessage().contains("destinationRegion"), error.getMessage());
    }

    // --- destination stack -------------------------------------------------------------------

    @Test
    void destinationUserMayPutObjectsUnderThePrefixOfTheReplicaBucket() {
        Map<String, JsonNode> users = resources(destination, "AWS::IAM::User");
        assertEquals(1, users.size(), "users: " + users.keySet());
        String user = users.keySet().iterator().next();
        List<String> replicaBuckets = resources(destination, "AWS::S3::Bucket").entrySet().stream()
                .filter(e -> "reports-replica".equals(e.getValue().path("Properties").path("BucketName").asText()))
                .map(Map.Entry::getKey).collect(Collectors.toList());
        assertEquals(1, replicaBuckets.size());
        String objectsUnderPrefix = "{\"Fn::Join\":[\"\",[{\"Fn::GetAtt\":[\"" + replicaBuckets.get(0) + "\",\"Arn\"]},\"/" + PREFIX + "*\"]]}";

        List<JsonNode> userStatements = new ArrayList<>();
        for (JsonNode policy : resources(destination, "AWS::IAM::Policy").values()) {
            if (policy.path("Properties").path("Users").toString().equals("[{\"Ref\":\"" + user + "\"}]")) {
                policy.path("Properties").path("PolicyDocument").path("Statement").forEach(userStatements::add);
            }
        }
        boolean putAllowed = userStatements.stream().anyMatch(st -> "Allow".equals(st.path("Effect").asText())
                && actions(st).contains("s3:PutObject")
                && (st.path("Resource").toString().equals(objectsUnderPrefix)
                    || asList(st.path("Resource")).stream().allMatch(r -> r.toString().equals(objectsUnderPrefix))));
        assertTrue(putAllowed, "no statement of the user's policies allows s3:PutObject on " + objectsUnderPrefix
                + " alone: " + userStatements);
    }

    @Test
    void nothingInTheDestinationStackAllowsGetObject() {
        List<JsonNode> allows = new ArrayList<>();
        collectStatements(destination.path("Resources"), allows);
        allows.removeIf(st -> !"Allow".equals(st.path("Effect").asText()));
        assertFalse(allows.isEmpty(), "no Allow statement found at all: the search is broken");
        for (JsonNode statement : allows) {
            for (String action : actions(statement)) {
                Pattern pattern = Pattern.compile(Pattern.quote(action).replace("*", "\\E.*\\Q").replace("?", "\\E.\\Q"),
                        Pattern.CASE_INSENSITIVE);
                assertFalse(pattern.matcher("s3:GetObject").matches(), "allows s3:GetObject: " + statement);
            }
        }
    }

    // --- helpers -----------------------------------------------------------------------------

    private static String property(final String name) {
        String value = System.getProperty(name);
        if (value == null || value.isEmpty()) {
            fail("system property " + name + " is not set: run through Maven (`npx projen test:java`)");
        }
        return value;
    }

    private static JsonNode template(final Path outdir, final String stack) throws IOException {
        Path file = outdir.resolve(stack + ".template.json");
        if (!Files.isRegularFile(file)) {
            try (var listing = Files.list(outdir)) {
                fail(file.getFileName() + " not synthesized; " + outdir + " holds "
                        + listing.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList()));
            }
        }
        return JSON.readTree(file.toFile());
    }

    private static Map<String, JsonNode> resources(final JsonNode template, final String type) {
        Map<String, JsonNode> found = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> fields = template.path("Resources").fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> entry = fields.next();
            if (type.equals(entry.getValue().path("Type").asText())) {
                found.put(entry.getKey(), entry.getValue());
            }
        }
        return found;
    }

    private static String onlyFunction(final Map<String, JsonNode> functions, final String role,
                                       final java.util.function.Predicate<JsonNode> byEnvironment) {
        List<String> ids = functions.entrySet().stream()
                .filter(e -> byEnvironment.test(e.getValue().path("Properties").path("Environment").path("Variables")))
                .map(Map.Entry::getKey).collect(Collectors.toList());
        assertEquals(1, ids.size(), "expected exactly one " + role + " function, found " + ids + " among " + functions.keySet());
        return ids.get(0);
    }

    private static List<JsonNode> asList(final JsonNode node) {
        List<JsonNode> list = new ArrayList<>();
        if (node.isArray()) {
            node.forEach(list::add);
        } else if (!node.isMissingNode()) {
            list.add(node);
        }
        return list;
    }

    private static List<String> actions(final JsonNode statement) {
        return asList(statement.path("Action")).stream().map(JsonNode::asText).collect(Collectors.toList());
    }

    private static void collectStatements(final JsonNode node, final List<JsonNode> into) {
        if (node.isObject()) {
            if (node.has("Statement") && node.path("Statement").isArray()) {
                node.path("Statement").forEach(into::add);
            }
            node.forEach(child -> collectStatements(child, into));
        } else if (node.isArray()) {
            node.forEach(child -> collectStatements(child, into));
        }
    }

    private static String mavenVersion(final String groupId, final String artifactId) throws IOException {
        String resource = "META-INF/maven/" + groupId + "/" + artifactId + "/pom.properties";
        List<URL> copies = Collections.list(ReportsAppTest.class.getClassLoader().getResources(resource));
        assertEquals(1, copies.size(), "copies of " + groupId + ":" + artifactId + " on the classpath: " + copies);
        Properties properties = new Properties();
        try (InputStream in = copies.get(0).openStream()) {
            properties.load(in);
        }
        return properties.getProperty("version");
    }

    private static String sha256(final Path file) throws IOException, NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }

    private static void deleteRecursively(final Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Collections.reverseOrder()).collect(Collectors.toList())) {
                Files.delete(p);
            }
        }
    }
}

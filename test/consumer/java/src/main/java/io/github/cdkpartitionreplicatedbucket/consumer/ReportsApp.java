package io.github.cdkpartitionreplicatedbucket.consumer;

import io.github.cdkpartitionreplicatedbucket.DestinationReplicationUser;
import io.github.cdkpartitionreplicatedbucket.PartitionReplicatedBucket;
import java.util.List;
import software.amazon.awscdk.App;
import software.amazon.awscdk.Duration;
import software.amazon.awscdk.Environment;
import software.amazon.awscdk.Stack;
import software.amazon.awscdk.StackProps;
import software.amazon.awscdk.services.s3.Bucket;
import software.amazon.awscdk.services.s3.LifecycleRule;

/**
 * The README's example app in Java (as examples/typescript/app.ts): a destination stack (deployed
 * with credentials of the destination partition) and a source stack (deployed with credentials of
 * the source partition) in one CDK app.
 */
public final class ReportsApp {
    /** The destination stack's id, which is also its template's name in the cloud assembly. */
    public static final String DESTINATION_STACK = "Replicas";
    /** The source stack's id. */
    public static final String SOURCE_STACK = "Reports";

    private ReportsApp() {
    }

    /** Adds both stacks to the app. */
    public static void define(final App app) {
        // Destination partition (aws-us-gov): the bucket and the identity that may write into it.
        Stack destination = new Stack(app, DESTINATION_STACK, StackProps.builder()
                .env(Environment.builder().account("222222222222").region("us-gov-west-1").build())
                .build());
        Bucket replicas = Bucket.Builder.create(destination, "Bucket")
                .bucketName("reports-replica")
                .versioned(true)
                .enforceSsl(true)
                // Backstop for large copies whose upload was never completed or aborted (see Large objects).
                .lifecycleRules(List.of(LifecycleRule.builder()
                        .abortIncompleteMultipartUploadAfter(Duration.days(7))
                        .build()))
                .build();
        DestinationReplicationUser.Builder.create(destination, "Writer")
                .bucket(replicas)
                .prefixes(List.of("reports/")) // the same prefixes as the source construct
                .createAccessKey(true) // the key, ready to copy, in writer.getAccessKeySecret()
                .build();

        // Source partition (aws): the replicated bucket.
        Stack source = new Stack(app, SOURCE_STACK, StackProps.builder()
                .env(Environment.builder().account("111111111111").region("us-east-1").build())
                .build());
        PartitionReplicatedBucket.Builder.create(source, "Reports")
                .destinationBucketName("reports-replica")
                .destinationRegion("us-gov-west-1")
                .prefixes(List.of("reports/"))
                .build();
    }

    public static void main(final String[] args) {
        App app = new App();
        define(app);
        app.synth();
    }
}

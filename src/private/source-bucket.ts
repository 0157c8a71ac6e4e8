import { Annotations, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, IConstruct } from 'constructs';

/** The id of the warning about an imported source bucket; pass it to `Annotations.acknowledgeWarning`. */
const IMPORTED_BUCKET_WARNING = 'cdk-partition-replicated-bucket:importedBucketPrerequisites';

/**
 * The source bucket of the `PartitionReplicatedBucket` `scope`: the `given` one, or a new one
 * (`Bucket` in `scope`). An adopted bucket of the app gets EventBridge notifications and fails
 * synthesis unless versioned; an imported one cannot be configured, so `scope` warns about it.
 */
export function sourceBucket(scope: Construct, given: s3.IBucket | undefined, removalPolicy: RemovalPolicy): s3.IBucket {
  const bucket = given ?? createBucket(scope, removalPolicy);
  if (given instanceof s3.Bucket) {
    given.enableEventBridgeNotification();
    scope.node.addValidation({ validate: () => versioningProblems(given) });
  } else if (given) {
    Annotations.of(scope).addWarningV2(IMPORTED_BUCKET_WARNING,
      'The source bucket is imported, so this construct cannot configure it: make sure it has versioning ' +
      'and "Send notifications to Amazon EventBridge" switched on, or nothing is replicated.');
  }
  return bucket;
}

function createBucket(scope: Construct, removalPolicy: RemovalPolicy): s3.Bucket {
  return new s3.Bucket(scope, 'Bucket', {
    versioned: true,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    eventBridgeEnabled: true,
    removalPolicy,
  });
}

/** Synthesis fails when an adopted, app-defined bucket is not versioned: replication maps versions. */
function versioningProblems(bucket: s3.Bucket): string[] {
  const cfnBucket = bucket.node.defaultChild as IConstruct | undefined;
  if (!(cfnBucket instanceof s3.CfnBucket)) return [];
  const versioning = Stack.of(bucket).resolve(cfnBucket.versioningConfiguration);
  if (versioning?.status === 'Enabled') return [];
  return [`PartitionReplicatedBucket: bucket ${bucket.node.path} is not versioned; create it with versioned: true (replication maps object versions)`];
}

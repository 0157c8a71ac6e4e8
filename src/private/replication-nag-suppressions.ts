import { Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { addNagSuppressions, BASIC_EXECUTION_ROLE_FINDING, flattenCfnReference, lambdaFunctionSuppressions } from './nag-suppressions';

/** aws-cdk-lib's stack-wide Lambda that applies bucket notification settings (one per stack). */
const BUCKET_NOTIFICATIONS_HANDLER_ID = 'BucketNotificationsHandler050a0587b7544547bf325f094a3db834';

/** The resources of a `PartitionReplicatedBucket` with deliberate cdk-nag findings. */
export interface ReplicationNagScope {
  readonly router: lambda.Function;
  readonly replicator: lambda.Function;
  /** The object patterns of the source bucket the replicator may read. */
  readonly objectPatterns: string[];
  readonly bucket: s3.IBucket;
  /** The construct created the source bucket (none was given). */
  readonly createdBucket: boolean;
  readonly credentialsSecret: secretsmanager.ISecret;
  /** The construct created the credentials secret (none was given). */
  readonly createdSecret: boolean;
}

/**
 * cdk-nag findings that are deliberate, recorded as cdk-nag metadata on the resources so that
 * consumers who run cdk-nag see them suppressed, with the reason, without configuring anything.
 * Call it last: a suppression on a role reaches only the policies the role has by then.
 */
export function suppressReplicationNagFindings(scope: Construct, resources: ReplicationNagScope): void {
  const { router, replicator, objectPatterns, bucket, credentialsSecret } = resources;
  const stack = Stack.of(scope);
  lambdaFunctionSuppressions(router);
  lambdaFunctionSuppressions(replicator);

  const sourceObjects = objectPatterns.map((pattern) => `Resource::${flattenCfnReference(stack.resolve(bucket.arnForObjects(pattern)))}`);
  addNagSuppressions(replicator.role!, [{
    id: 'AwsSolutions-IAM5',
    reason: 'Reading object versions, their tags and metadata from the source bucket is the replicator\'s job: ' +
      'the wildcards are the object ARNs of the source bucket (only under the configured prefixes) and ' +
      'the read-only action groups s3:GetObject*, s3:GetBucket* and s3:List* that aws-cdk-lib grants for reading.',
    appliesTo: ['Action::s3:GetObject*', 'Action::s3:GetBucket*', 'Action::s3:List*', ...sourceObjects],
  }]);

  if (resources.createdBucket) {
    addNagSuppressions(bucket.node.defaultChild!, [{
      id: 'AwsSolutions-S1',
      reason: 'Server access logging needs a log bucket and retention policy that belong to the bucket owner; ' +
        'pass your own bucket (with logging) as the bucket prop to have it.',
    }]);
  }

  if (resources.createdSecret) {
    addNagSuppressions(credentialsSecret.node.defaultChild!, [{
      id: 'AwsSolutions-SMG4',
      reason: 'The secret holds the access key of an IAM user in another partition, which Secrets Manager rotation in this ' +
        'partition cannot rotate; the operator rotates it by the runbook in the README, without a deployment.',
    }]);
  }

  // eventBridgeEnabled and enableEventBridgeNotification() use aws-cdk-lib's stack-wide custom resource handler.
  const notificationsHandler = stack.node.tryFindChild(BUCKET_NOTIFICATIONS_HANDLER_ID);
  if (notificationsHandler) {
    addNagSuppressions(notificationsHandler, [
      {
        id: 'AwsSolutions-IAM4',
        reason: 'aws-cdk-lib\'s bucket notifications handler (which switches on EventBridge notifications) only writes its own logs with it.',
        appliesTo: [BASIC_EXECUTION_ROLE_FINDING],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: 'aws-cdk-lib grants its one stack-wide bucket notifications handler s3:PutBucketNotification on every bucket; ' +
          'the policy is not configurable.',
        appliesTo: ['Resource::*'],
      },
    ]);
  }
}

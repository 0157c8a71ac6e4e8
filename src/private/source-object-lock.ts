import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { IConstruct } from 'constructs';

/**
 * Whether the source bucket has Object Lock: true or false for a bucket defined in the app
 * (`s3.Bucket`, read from its `CfnBucket`), undefined when it cannot be known (an imported bucket,
 * or a token).
 */
export function sourceObjectLockEnabled(bucket: s3.IBucket): boolean | undefined {
  if (!(bucket instanceof s3.Bucket)) return undefined;
  const cfnBucket = bucket.node.defaultChild as IConstruct | undefined;
  if (!(cfnBucket instanceof s3.CfnBucket)) return undefined;
  const stack = Stack.of(bucket);
  const enabled = stack.resolve(cfnBucket.objectLockEnabled);
  const configured = stack.resolve(cfnBucket.objectLockConfiguration)?.objectLockEnabled;
  if (enabled === true || configured === 'Enabled') return true;
  if ((enabled === undefined || enabled === false) && configured === undefined) return false;
  return undefined;
}

/**
 * The `replicateObjectLock` setting: as given, else on exactly when the source bucket is one of the
 * app with Object Lock enabled (a created bucket has none; an imported one is off unless set).
 * Throws, naming the prop, when it is true for a bucket of the app (or the created one) without Object Lock.
 */
export function replicateObjectLockSetting(given: s3.IBucket | undefined, replicateObjectLock: boolean | undefined): boolean {
  const enabled = given ? sourceObjectLockEnabled(given) : false;
  if (replicateObjectLock === true && enabled === false) {
    throw new Error(given
      ? `PartitionReplicatedBucket: replicateObjectLock is true, but the source bucket ${given.node.path} has no Object Lock: ` +
        'create it with objectLockEnabled: true, or leave replicateObjectLock unset'
      : 'PartitionReplicatedBucket: replicateObjectLock is true, but the bucket this construct creates has no Object Lock: ' +
        'pass `bucket`, created with objectLockEnabled: true, or leave replicateObjectLock unset');
  }
  return replicateObjectLock ?? enabled === true;
}

/**
 * With `replicateObjectLock`, the replicator may read each version's retention and legal hold (S3's
 * GET returns them only then), on the same object ARNs as its reads.
 */
export function grantObjectLockReads(replicator: iam.IGrantable, bucket: s3.IBucket, objectPatterns: string[]): void {
  replicator.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['s3:GetObjectRetention', 's3:GetObjectLegalHold'],
    resources: objectPatterns.map((pattern) => bucket.arnForObjects(pattern)),
  }));
}

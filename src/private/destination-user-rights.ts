import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { DestinationReplicationUserProps } from '../destination-replication-user-props';
import { DestinationUserSettings } from './destination-user-validation';
import { objectKeyPatterns } from '../runtime/contract/replication-scope';

/** The rights of a `DestinationReplicationUser`, and the object ARNs they are on. */
export interface ReplicationRights {
  /** The statements of its policy document, in order. */
  readonly statements: iam.PolicyStatement[];
  /** The destination bucket's object ARNs the rights are on (under the prefixes, when given). */
  readonly objectArns: string[];
}

/**
 * The S3 (and KMS) rights of the replicator at the destination: exactly the calls it makes, on
 * buckets of the account of `scope`'s stack only, and an explicit deny of SSE-C writes.
 */
export function replicationRights(
  scope: Construct,
  props: DestinationReplicationUserProps,
  settings: DestinationUserSettings,
): ReplicationRights {
  const bucket = props.bucket;
  const keyPatterns = objectKeyPatterns(settings.scope);
  const objectArns = keyPatterns.map((pattern) => bucket.arnForObjects(pattern));
  const underScope = settings.scope.prefixes.length > 0 ? { StringLike: { 's3:prefix': keyPatterns } } : {};

  // Only on buckets of this stack's account: the rights cannot reach a bucket of the same name in
  // another account (a deleted and re-created, or mistyped, name). The stack's account token, so
  // an environment-agnostic stack gets the account it is deployed to.
  const thisAccount = { 's3:ResourceAccount': Stack.of(scope).account };
  // Listings of the bucket, only under the scope's prefixes (s3:prefix) when it has any.
  const listingOfBucket = (sid: string, actions: string[]) => new iam.PolicyStatement({
    sid, actions, resources: [bucket.bucketArn], conditions: { StringEquals: thisAccount, ...underScope },
  });
  // Exactly the calls the replicator makes on the destination, on object ARNs only.
  const statements = [new iam.PolicyStatement({
    sid: 'WriteReplicas',
    actions: [
      's3:PutObject', // PutObject, CreateMultipartUpload, UploadPart, CompleteMultipartUpload
      's3:AbortMultipartUpload',
      's3:PutObjectTagging', // tags sent with the object
      's3:PutObjectVersionTagging', // tag changes on a replica version
      's3:DeleteObjectVersionTagging',
      's3:DeleteObject', // delete markers
      ...(settings.allowVersionDeletes ? ['s3:DeleteObjectVersion'] : []),
    ],
    resources: objectArns,
    conditions: { StringEquals: thisAccount },
  }),
  // Versions and multipart uploads of one key, after a delivery failed between writing and
  // recording: its replica is recorded instead of written twice, and an unrecorded upload aborted.
  listingOfBucket('FindUnrecordedReplicas', ['s3:ListBucketVersions', 's3:ListBucketMultipartUploads'])];
  if (props.allowListing) {
    // ListObjectsV2, for reconcile runs.
    statements.push(listingOfBucket('ListReplicas', ['s3:ListBucket']));
  }
  if (props.allowObjectLock) {
    // A replica written with the source version's retention and legal hold (replicateObjectLock).
    statements.push(new iam.PolicyStatement({
      sid: 'LockReplicas',
      actions: ['s3:PutObjectRetention', 's3:PutObjectLegalHold'],
      resources: objectArns,
      conditions: { StringEquals: thisAccount },
    }));
  }
  if (props.kmsKey) {
    statements.push(new iam.PolicyStatement({
      sid: 'EncryptReplicas',
      // GenerateDataKey encrypts a new object; S3 needs Decrypt too, to assemble multipart uploads.
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: [props.kmsKey.keyArn],
      // The key only for this bucket: S3 puts the object ARN in the encryption context, or the
      // bucket ARN when the bucket uses S3 Bucket Keys.
      conditions: {
        StringLike: { 'kms:EncryptionContext:aws:s3:arn': [bucket.bucketArn, ...objectArns] },
      },
    }));
  }
  statements.push(new iam.PolicyStatement({
    sid: 'DenyCustomerKeyWrites',
    effect: iam.Effect.DENY,
    // SSE-C: a replica encrypted with a key the caller supplies can be read by no one else, so
    // leaked credentials could hold the copies to ransom. The replicator never sends one; an
    // explicit Deny holds even if another policy grants s3:PutObject.
    actions: ['s3:PutObject'], // PutObject, CreateMultipartUpload and UploadPart
    resources: objectArns,
    conditions: { Null: { 's3:x-amz-server-side-encryption-customer-algorithm': 'false' } },
  }));
  return { statements, objectArns };
}

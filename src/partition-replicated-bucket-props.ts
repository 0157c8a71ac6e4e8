import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { BackfillMode } from './backfill-mode';

/**
 * Properties of a `PartitionReplicatedBucket`.
 */
export interface PartitionReplicatedBucketProps {
  /**
   * The source bucket, in this stack's partition, whose objects are replicated.
   *
   * A bucket defined in the same app (`new s3.Bucket(...)`) gets EventBridge notifications switched on
   * by this construct, and synthesis fails unless it is versioned.
   *
   * An imported bucket (`s3.Bucket.fromBucketName(...)` and friends) cannot be changed by this
   * construct: it must already have versioning and "Send notifications to Amazon EventBridge"
   * switched on, or nothing is replicated. The construct says so in a synth warning
   * (`cdk-partition-replicated-bucket:importedBucketPrerequisites`), which you can acknowledge with
   * `Annotations.of(construct).acknowledgeWarning(...)` once you have checked.
   *
   * @default - a new bucket: versioned, S3-managed encryption, TLS-only bucket policy, all public
   * access blocked, EventBridge notifications on, retained on stack deletion (see `removalPolicy`).
   */
  readonly bucket?: s3.IBucket;

  /**
   * The name of the destination bucket in the other partition. It must already exist (versioned,
   * so that every source version maps to its own destination version), and the credentials in
   * `credentialsSecret` must be allowed to write to it.
   */
  readonly destinationBucketName: string;

  /**
   * The region of the destination bucket, for example `us-gov-west-1` or `cn-north-1`.
   */
  readonly destinationRegion: string;

  /**
   * The partition of the destination bucket, for example `aws-us-gov` or `aws-cn`.
   *
   * Must be given when `destinationRegion` is a token (for example a CloudFormation parameter).
   *
   * @default - the partition of `destinationRegion`
   */
  readonly destinationPartition?: string;

  /**
   * The secret holding the access key of an IAM user in the destination partition.
   *
   * Its value is a JSON object:
   * `{"accesskey": "AKIA...", "secretaccesskey": "...", "user": "optional user name",
   *   "partition": "optional partition, checked against the destination",
   *   "accountid": "optional: the account that owns the destination bucket"}`. With an
   * `accountid` (or `destinationAccount`), every destination request carries it as
   * `ExpectedBucketOwner`, and S3 refuses the request if another account owns the bucket.
   * The replicator reads it at run time (it never appears in the template or in environment
   * variables), so changing the keys needs no deployment.
   *
   * @default - a new secret whose value is `{}`; fill it in after the first deployment. Until then
   * the replicator attempts nothing: it logs one error and publishes `CredentialsSecretNotFilled`
   * per invocation, and its messages wait in the queue (up to about 12 hours with the default
   * `maxReceiveCount`) and replicate once the secret is filled.
   */
  readonly credentialsSecret?: secretsmanager.ISecret;

  /**
   * The secret the backfill function reads, instead of `credentialsSecret`, for reconcile runs:
   * the backfill only lists the destination bucket (`ListObjectsV2`), so this can hold the key of a
   * destination IAM user that may do nothing but `s3:ListBucket` on it. The backfill function is
   * then never granted the replicator's write key. Same JSON shape as `credentialsSecret`.
   *
   * @default - the backfill reads `credentialsSecret` (whose user then needs `s3:ListBucket` for
   * reconcile runs, for example `allowListing` of `DestinationReplicationUser`)
   */
  readonly reconcileCredentialsSecret?: secretsmanager.ISecret;

  /**
   * The KMS key that encrypts the copies in the destination bucket (SSE-KMS), as a key or alias
   * ARN in the destination partition and region.
   *
   * @default - the destination bucket's default encryption applies
   */
  readonly destinationKmsKeyArn?: string;

  /**
   * Write the copies with an S3 Bucket Key (`BucketKeyEnabled`, on PUT and CreateMultipartUpload),
   * which cuts the KMS requests, and so the KMS cost, of SSE-KMS at the destination. Only with
   * `destinationKmsKeyArn`. The destination identity's KMS grant must then allow the bucket ARN as
   * encryption context (`DestinationReplicationUser` with `kmsKey` does).
   *
   * @default false - each replica's own data key, unless the destination bucket's default
   * encryption enables a Bucket Key
   */
  readonly destinationBucketKeyEnabled?: boolean;

  /**
   * The storage class of the copies: one the destination partition offers for a versioned general
   * purpose bucket (`EXPRESS_ONEZONE`, `OUTPOSTS` and `SNOW` fail at synth time).
   *
   * @default - the storage class of the source object; a class the destination does not offer
   * (Express One Zone, Outposts, Snow, FSx) becomes STANDARD, with a warning in the log
   */
  readonly destinationStorageClass?: s3.StorageClass;

  /**
   * The customer managed KMS key the source bucket's objects are encrypted with (SSE-KMS): the
   * replicator, which reads the objects, is granted `kms:Decrypt` on it (`key.grantDecrypt`, so a
   * key of this app gets a key policy statement where needed and an imported key an IAM statement).
   * Give it for an imported bucket (`s3.Bucket.fromBucketName`) whose default encryption uses a
   * customer managed key, or whose objects were written with one; without it, their GETs are denied.
   * The backfill function only lists the source, so it needs no key.
   *
   * @default - the bucket's own `encryptionKey` when it has one (an `s3.Bucket` of the app with KMS
   * encryption, or one imported with `encryptionKey`), else none (S3-managed keys need no grant)
   */
  readonly sourceKmsKey?: kms.IKey;

  /**
   * The endpoint of the destination S3 service, for an S3-compatible store or a private endpoint:
   * an `https://` URL without credentials in it (`http://` only with `allowInsecureEndpoints`).
   *
   * @default - resolved by the AWS SDK from `destinationRegion`
   */
  readonly destinationEndpoint?: string;

  /**
   * The endpoint of the destination partition's STS, used in assume-role mode (when the
   * credentials secret names a `rolearn`), for a private (VPC) endpoint or an S3-compatible store
   * with its own STS: an `https://` URL (`http://` only with `allowInsecureEndpoints`).
   *
   * @default - resolved by the AWS SDK from `destinationRegion`
   */
  readonly destinationStsEndpoint?: string;

  /**
   * Allow `http://` URLs in `destinationEndpoint` and `destinationStsEndpoint`. For local
   * emulators and tests only: over plain HTTP the replicas, and in assume-role mode the session
   * credentials STS returns, travel unencrypted.
   *
   * @default false
   */
  readonly allowInsecureEndpoints?: boolean;

  /**
   * The 12-digit id of the account that owns the destination bucket. Every destination request
   * (writes, deletes, tag changes, reconcile listings) carries it as `ExpectedBucketOwner`, so S3
   * refuses to write into a bucket of that name owned by anyone else (a deleted and re-created
   * or mistyped bucket name). Takes precedence over the credentials secret's `accountid`.
   *
   * @default - the credentials secret's `accountid`; without it, the owner is not checked
   */
  readonly destinationAccount?: string;

  /**
   * Replicate only the keys that start with one of these prefixes. At most 10 prefixes, each
   * non-empty, unique and free of the IAM wildcards `*` and `?` (the replicator may read only
   * `<prefix>*` from the source bucket, and a wildcard would widen that).
   *
   * @default - every key
   */
  readonly prefixes?: string[];

  /**
   * Replicate only the versions whose tags include every one of these key-value pairs (exact,
   * case-sensitive), combined with `prefixes` as S3 Replication's `And` filter: a version is
   * replicated when its key is under a prefix and its tags match. At most 10 pairs, each key 1 to
   * 128 and each value 0 to 256 characters, no key starting with `aws:` (S3's object tag limits).
   *
   * S3 events carry no tags, so the replicator tests the filter when it copies a version, with the
   * tags it reads with it; a version that does not match is skipped (reason `tag-filter`, metric
   * `VersionsFilteredByTags`), and a backfill reports it as `skipped-by-filter`. As in S3
   * Replication, tagging a version later does not replicate it (run a backfill), a replica stays
   * when its source version's tags stop matching, and delete markers, which have no tags, are not
   * replicated (`replicateDeleteMarkers` must then stay unset or false).
   *
   * @default - every version, whatever its tags
   */
  readonly tagFilter?: { [key: string]: string };

  /**
   * Replicate delete markers: deleting an object (without a version id) in the source hides it
   * in the destination too. Not with `tagFilter` (a delete marker has no tags to match, and S3
   * Replication does not replicate delete markers under a tag filter either).
   *
   * @default - true; false when `tagFilter` is set
   */
  readonly replicateDeleteMarkers?: boolean;

  /**
   * Replicate permanent deletes of object versions (deletes with a version id), including the
   * removal of a delete marker ("undelete"), which at the destination is a version delete too.
   *
   * Off by default so that the copy in the other partition survives a malicious or mistaken
   * permanent delete in the source: that is what a cross-partition copy is usually for.
   *
   * @default false
   */
  readonly replicateVersionDeletes?: boolean;

  /**
   * Replicate object tags, and later changes to them.
   *
   * @default true
   */
  readonly replicateTags?: boolean;

  /**
   * Replicate Object Lock: each version's retention mode, retain-until date and legal hold are set
   * on its replica in the same request that writes it (a retain-until date already past is left
   * out). The replicator is granted `s3:GetObjectRetention` and `s3:GetObjectLegalHold` on the
   * source objects, without which S3 does not return them.
   *
   * The destination bucket must have Object Lock enabled, and its identity may set it
   * (`allowObjectLock` of `DestinationReplicationUser`): a bucket without Object Lock refuses the
   * replicas, and each such message is dead-lettered at once with a reason that says so. Later
   * retention or legal-hold changes at the source are not replicated: S3 sends no event for them.
   * With `replicateVersionDeletes`, a permanent delete whose replica is still locked is dead-lettered
   * with the lock in its reason; the replica stays.
   *
   * True with a source bucket of the app (or the created one) without Object Lock fails synthesis.
   *
   * @default - true when `bucket` is a bucket of this app (`s3.Bucket`) with Object Lock enabled;
   * false for the bucket the construct creates and for imported buckets
   */
  readonly replicateObjectLock?: boolean;

  /**
   * The timeout of the replicator function; one message (one object version) must be copied
   * within it. The replication queue's visibility timeout is six times this.
   *
   * Between 30 seconds and 15 minutes: every invocation keeps 15 seconds back to hand a large copy
   * over to the next invocation, and needs at least as long again to copy.
   *
   * @default Duration.minutes(15)
   */
  readonly replicatorTimeout?: Duration;

  /**
   * The memory of the replicator function, in MiB. Large objects are copied in parts held in
   * memory, so more memory copies faster.
   *
   * Between 128 and 10240.
   *
   * @default 1024
   */
  readonly replicatorMemorySize?: number;

  /**
   * How many times the replicator attempts a message before it sends it to the dead-letter queue.
   * Between 1 and 1000.
   *
   * Failed attempts are retried after 2, 4, 8, 16 and then every 30 seconds, so the default 5
   * attempts ride out a fault of about 30 seconds; each attempt beyond the fifth adds 30 seconds.
   * Errors no retry can cure (a malformed message, a credentials secret that is not valid JSON or
   * misses a field, and the Object Lock errors of `replicateObjectLock`) are dead-lettered on the
   * first attempt. Receives on which a message was handed
   * back unattempted, behind an earlier failed message of its key, do not count. The queue's own
   * redrive policy is a backstop at ten times this (at most 1000 receives) for deliveries the
   * replicator never sees. The backfill's own queue moves a backfill step to the router's
   * dead-letter queue after this many receives.
   *
   * @default 5
   */
  readonly maxReceiveCount?: number;

  /**
   * Start a backfill of the objects that already exist once, when the construct is first
   * deployed. Later runs (and runs without this) are started on demand by invoking `backfill`
   * with `{"mode": "all-versions"}` or `{"mode": "current-versions"}`.
   *
   * @default - no backfill on deployment
   */
  readonly backfillOnDeploy?: BackfillMode;

  /**
   * The bucket backfill reports are written to, under `backfill-reports/<run id>/`.
   *
   * @default - a new bucket (encrypted, TLS-only, private), retained like the others
   */
  readonly reportBucket?: s3.IBucket;

  /**
   * The bucket your S3 Inventory reports of the source bucket are delivered to, which backfill runs
   * in `inventory` mode read (`{"mode": "inventory", "manifest": "s3://<this bucket>/.../manifest.json"}`).
   * The backfill function may read its objects (`s3:GetObject`, and decrypt with its key if it has
   * one). The inventory must list all versions, in CSV. It must be another bucket than the
   * replicated one.
   *
   * @default - no inventory bucket: `inventory` runs cannot read a manifest
   */
  readonly inventoryBucket?: s3.IBucket;

  /**
   * The Lambda runtime of the router, replicator and backfill functions: an escape hatch to move to
   * a newer Node.js runtime before this library does (for example when AWS deprecates the pinned
   * one). The handlers are bundled for Node.js 22, so it must be a Node.js runtime of that line or
   * newer; with aws-cdk-lib versions that lack a constant for it, name it:
   * `new lambda.Runtime('nodejs24.x', lambda.RuntimeFamily.NODEJS)`. Check that your partitions
   * offer it.
   *
   * @default - `nodejs22.x`, pinned, so that templates change only when this library changes it
   */
  readonly runtime?: lambda.Runtime;

  /**
   * The replication SLO: how late a replica may be, as S3 Replication Time Control promises 15
   * minutes. Two alarms hold replication to it: `PendingAgeAlarm` when the oldest message waiting
   * in the replication queue is older, and `LatencyAlarm` when the 99th percentile of
   * `ReplicationLatency` (S3 event to replica) over five minutes is above it. The dashboard draws it.
   *
   * A whole number of seconds between 1 minute and 14 days (the queues' retention).
   *
   * @default Duration.minutes(15)
   */
  readonly replicationSlo?: Duration;

  /**
   * An SNS topic every alarm of the construct notifies when it goes into ALARM and when it returns
   * to OK (see `alarms`). A topic encrypted with a customer managed KMS key must let CloudWatch use
   * the key.
   *
   * @default - the alarms have no actions; add yours to `alarms`
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * Create a CloudWatch dashboard of the replication (`dashboard`): latency percentiles, objects
   * and bytes replicated, the backlog and its age, failures and skips by reason, the dead-letter
   * queues, and each function's errors, throttles, duration and concurrency. A dashboard costs
   * USD 3 a month beyond the account's first three (CloudWatch pricing, us-east-1, 2026); set
   * false to leave it out.
   *
   * @default true
   */
  readonly createDashboard?: boolean;

  /**
   * The most replicator invocations the replication queue's event source runs at once (SQS
   * `ScalingConfig.MaximumConcurrency`), so a bulk upload cannot take the account's concurrency
   * from the router and other functions or flood the destination with requests. Between 2 and 1000.
   *
   * The default 20 keeps destination writes far below S3's 3,500 writes per second per prefix
   * (each invocation copies at most 10 keys at once, each key's messages in order: at most 10
   * small-object PUTs, or 80 part uploads within half the function's memory, in flight; so 200
   * PUTs for 20 invocations, each preceded by its source read and version-map read) and leaves 980
   * of the account's default 1,000 concurrent executions to everything else. Raise it for more throughput; messages of one
   * key are replicated in order whatever it is.
   *
   * @default 20
   */
  readonly maxConcurrency?: number;

  /**
   * Concurrency reserved for the router (its `reservedConcurrentExecutions`): capacity no other
   * function of the account can take from it, and at the same time its limit. The replicator's own
   * concurrency is already bounded by `maxConcurrency`, so only other functions of the account can
   * starve the router; EventBridge retries a throttled router for 24 hours either way.
   *
   * Not reserved by default: reserving fails the deployment in an account whose unreserved
   * concurrency would drop below 100 (new accounts often have a limit of 10).
   *
   * @default - no reservation
   */
  readonly routerReservedConcurrency?: number;

  /**
   * What happens to the created bucket, the version-map table and the log groups when they leave
   * the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

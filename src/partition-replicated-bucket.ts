import { Annotations, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, IConstruct } from 'constructs';
import { BackfillMode } from './backfill-mode';
import { ReplicatorFunction } from './handlers/replicator-function';
import { RouterFunction } from './handlers/router-function';
import { overrideRuntime } from './private/function-runtime';
import { addNagSuppressions, BASIC_EXECUTION_ROLE_FINDING, flattenCfnReference, lambdaFunctionSuppressions } from './private/nag-suppressions';
import { Settings, validate } from './private/props-validation';
import { queueDefaults, queueReceiveLimit } from './private/queue-defaults';
import { ReplicationBackfill } from './replication-backfill';
import { DestinationSettings, replicatorEnvironment, routerEnvironment } from './runtime/contract/replication-environment';
import { eventKeyFilter, objectKeyPatterns } from './runtime/contract/replication-scope';
import { OBJECT_DETAIL_TYPES, TAG_DETAIL_TYPES } from './runtime/contract/s3-eventbridge-event';

/** The id of the warning about an imported source bucket; pass it to `Annotations.acknowledgeWarning`. */
const IMPORTED_BUCKET_WARNING = 'cdk-partition-replicated-bucket:importedBucketPrerequisites';

/** aws-cdk-lib's stack-wide Lambda that applies bucket notification settings (one per stack). */
const BUCKET_NOTIFICATIONS_HANDLER_ID = 'BucketNotificationsHandler050a0587b7544547bf325f094a3db834';

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
   * replication attempts fail and land in `deadLetterQueue` on their first attempt.
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
   * The storage class of the copies.
   *
   * @default - the storage class of the source object
   */
  readonly destinationStorageClass?: s3.StorageClass;

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
   * Replicate delete markers: deleting an object (without a version id) in the source hides it
   * in the destination too.
   *
   * @default true
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
   * misses a field) are dead-lettered on the first attempt. Receives on which a message was handed
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
   * What happens to the created bucket, the version-map table and the log groups when they leave
   * the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Replicates the objects of an S3 bucket to a bucket in another AWS partition (for example from
 * `aws` to `aws-us-gov` or `aws-cn`), which native S3 replication cannot do.
 *
 * Deploy it in the source partition. Object events from the source bucket go through EventBridge
 * to a small router function, which puts them on an SQS FIFO queue grouped by object key, so
 * the versions of one key are replicated in order while different keys replicate in parallel.
 * The replicator function copies each version to the destination bucket with the credentials in
 * `credentialsSecret` and records the source-to-destination version mapping in `table`.
 * Failures are retried and end in dead-letter queues watched by `deadLetterAlarm`.
 */
export class PartitionReplicatedBucket extends Construct {
  /** The source bucket. */
  public readonly bucket: s3.IBucket;

  /**
   * The version map: for every replicated source object version, the destination version
   * (partition key `pk`, sort key `sk`).
   */
  public readonly table: dynamodb.Table;

  /** The FIFO queue of replication work, one message group per object key. */
  public readonly queue: sqs.Queue;

  /**
   * Where the replicator sends a replication message after `maxReceiveCount` failed attempts, or at
   * once on an error no retry cures (FIFO).
   *
   * Each message keeps its message group and carries the reason in its `FailureReason` attribute.
   * It is also the queue's redrive target, as a backstop, after ten times as many receives.
   */
  public readonly deadLetterQueue: sqs.Queue;

  /**
   * Where events go that the router could not take (failed EventBridge deliveries and failed
   * asynchronous invocations of the router) and backfill steps that kept failing: a standard queue,
   * as all three require.
   */
  public readonly routerDeadLetterQueue: sqs.Queue;

  /** The EventBridge rule that sends the source bucket's object events to the router. */
  public readonly rule: events.Rule;

  /** The function that turns bucket events into ordered replication messages. */
  public readonly router: lambda.IFunction;

  /** The function that copies object versions to the destination partition. */
  public readonly replicator: lambda.IFunction;

  /**
   * The backfill function: replicates the objects that existed before the construct. Invoke it with
   * `{"mode": "all-versions"}` or `{"mode": "current-versions"}`; it answers with the run id and
   * where the report will be.
   */
  public readonly backfill: lambda.IFunction;

  /** The queue that carries a backfill run from one invocation to the next. */
  public readonly backfillQueue: sqs.Queue;

  /** Where backfill reports are written (`backfill-reports/<run id>/objects.jsonl` and `summary.json`). */
  public readonly reportBucket: s3.IBucket;

  /** The secret with the destination partition's credentials (see `credentialsSecret` in the props). */
  public readonly credentialsSecret: secretsmanager.ISecret;

  /**
   * In alarm while either dead-letter queue holds a message. It has no actions; add yours with
   * `deadLetterAlarm.addAlarmAction(...)`.
   */
  public readonly deadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: PartitionReplicatedBucketProps) {
    super(scope, id);

    const settings = validate(props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    // --- Source bucket -------------------------------------------------------------------------
    this.bucket = props.bucket ?? this.createBucket(removalPolicy);
    if (props.bucket instanceof s3.Bucket) {
      props.bucket.enableEventBridgeNotification();
      const sourceBucket = props.bucket;
      this.node.addValidation({ validate: () => versioningProblems(sourceBucket) });
    } else if (props.bucket) {
      Annotations.of(this).addWarningV2(IMPORTED_BUCKET_WARNING,
        'The source bucket is imported, so this construct cannot configure it: make sure it has versioning ' +
        'and "Send notifications to Amazon EventBridge" switched on, or nothing is replicated.');
    }

    // --- Version map -------------------------------------------------------------------------
    this.table = new dynamodb.Table(this, 'VersionMap', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // Checkpoints of multipart uploads whose message was dead-lettered expire on their own.
      timeToLiveAttribute: 'expiresAt',
      removalPolicy,
    });

    // --- Queues --------------------------------------------------------------------------------
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      ...queueDefaults,
      fifo: true,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      ...queueDefaults,
      fifo: true,
      contentBasedDeduplication: false,
      // High-throughput FIFO: ordering (and deduplication) per object key is all replication needs.
      deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      // AWS's guidance for Lambda consumers: six times the function timeout, so retries of a
      // throttled batch do not make a message visible again while it is still being copied. Failed
      // messages do not wait for it: the replicator sets their retry delay (seconds); only a
      // delivery that ends in a crash or a function timeout does.
      visibilityTimeout: Duration.seconds(settings.replicatorTimeout.toSeconds() * 6),
      // The replicator dead-letters after `maxReceiveCount` attempts; this is the backstop.
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: queueReceiveLimit(settings.maxReceiveCount) },
    });
    this.routerDeadLetterQueue = new sqs.Queue(this, 'RouterDeadLetterQueue', queueDefaults);

    // --- Credentials ---------------------------------------------------------------------------
    this.credentialsSecret = props.credentialsSecret ?? new secretsmanager.Secret(this, 'CredentialsSecret', {
      description:
        `Access key of an IAM user in partition ${settings.destinationPartition} allowed to write to bucket ` +
        `${props.destinationBucketName}. Set the value to JSON: {"accesskey": "...", "secretaccesskey": "...", ` +
        '"user": "(optional) user name", "partition": "(optional) partition", "accountid": "(optional) account id"}',
      // An empty JSON object: a template with no secret in it. The operator fills in the keys.
      secretObjectValue: {},
    });

    // --- Router --------------------------------------------------------------------------------
    const router = new RouterFunction(this, 'Router', {
      description: 'Routes S3 object events of the source bucket onto the replication FIFO queue',
      timeout: Duration.seconds(30),
      memorySize: 256,
      deadLetterQueue: this.routerDeadLetterQueue,
      retryAttempts: 2,
      logGroup: new logs.LogGroup(this, 'RouterLogs', { retention: logs.RetentionDays.ONE_YEAR, removalPolicy }),
    });
    addEnvironment(router, routerEnvironment({
      sourceBucket: this.bucket.bucketName,
      scope: settings.scope,
      queueUrl: this.queue.queueUrl,
    }));
    overrideRuntime(router, settings.runtime);
    this.queue.grantSendMessages(router);
    this.router = router;

    // --- Rule ----------------------------------------------------------------------------------
    this.rule = new events.Rule(this, 'Rule', {
      description: 'S3 object events of the source bucket, for cross-partition replication',
      eventPattern: {
        source: ['aws.s3'],
        detailType: detailTypes(settings),
        detail: {
          bucket: { name: [this.bucket.bucketName] },
          ...(eventKeyFilter(settings.scope) ? { object: { key: eventKeyFilter(settings.scope) } } : {}),
        },
      },
    });
    this.rule.addTarget(new targets.LambdaFunction(router, {
      deadLetterQueue: this.routerDeadLetterQueue,
      retryAttempts: 185,
      maxEventAge: Duration.hours(24),
    }));

    // --- Replicator ----------------------------------------------------------------------------
    const replicator = new ReplicatorFunction(this, 'Replicator', {
      description: `Replicates object versions of the source bucket to ${settings.destinationPartition}`,
      timeout: settings.replicatorTimeout,
      memorySize: settings.replicatorMemorySize,
      logGroup: new logs.LogGroup(this, 'ReplicatorLogs', { retention: logs.RetentionDays.ONE_YEAR, removalPolicy }),
    });
    const destination: DestinationSettings = {
      credentialsSecretId: this.credentialsSecret.secretArn,
      destinationBucket: props.destinationBucketName,
      destinationRegion: props.destinationRegion,
      destinationPartition: settings.destinationPartition,
      destinationEndpoint: props.destinationEndpoint,
      destinationStsEndpoint: props.destinationStsEndpoint,
      destinationAccount: props.destinationAccount,
    };
    addEnvironment(replicator, replicatorEnvironment({
      sourceBucket: this.bucket.bucketName,
      scope: settings.scope,
      tableName: this.table.tableName,
      queueUrl: this.queue.queueUrl,
      deadLetterQueueUrl: this.deadLetterQueue.queueUrl,
      maxReceiveCount: settings.maxReceiveCount,
      ...destination,
      destinationKmsKeyArn: props.destinationKmsKeyArn,
      destinationStorageClass: props.destinationStorageClass?.value,
      replicateDeleteMarkers: settings.replicateDeleteMarkers,
      replicateVersionDeletes: settings.replicateVersionDeletes,
      replicateTags: settings.replicateTags,
    }));
    overrideRuntime(replicator, settings.runtime);
    replicator.addEventSource(new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true }));
    // Read-only access to the source objects (under the prefixes, when given); never write or delete.
    for (const pattern of objectKeyPatterns(settings.scope)) {
      this.bucket.grantRead(replicator, pattern);
    }
    this.table.grantReadWriteData(replicator);
    // A large copy that needs another invocation queues its own continuation.
    this.queue.grantSendMessages(replicator);
    // It dead-letters a message itself (the event source's grant includes ChangeMessageVisibility for retry delays).
    this.deadLetterQueue.grantSendMessages(replicator);
    this.credentialsSecret.grantRead(replicator);
    this.replicator = replicator;

    // --- Backfill ------------------------------------------------------------------------------
    const backfill = new ReplicationBackfill(this, 'Backfill', {
      sourceBucket: this.bucket,
      scope: settings.scope,
      table: this.table,
      replicationQueue: this.queue,
      deadLetterQueue: this.routerDeadLetterQueue,
      maxReceiveCount: settings.maxReceiveCount,
      // The backfill only lists the destination: with a list-only secret it never holds the write key.
      credentialsSecret: props.reconcileCredentialsSecret ?? this.credentialsSecret,
      destination,
      backfillOnDeploy: props.backfillOnDeploy,
      reportBucket: props.reportBucket,
      removalPolicy,
      runtime: settings.runtime,
      startAfter: [this.queue, this.table, replicator],
    });
    this.backfill = backfill.function;
    this.backfillQueue = backfill.queue;
    this.reportBucket = backfill.reportBucket;

    // --- Alarm ---------------------------------------------------------------------------------
    const depth = (queue: sqs.Queue) => queue.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(1),
      statistic: cloudwatch.Stats.MAXIMUM,
    });
    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription: 'Cross-partition replication: a dead-letter queue holds messages (failed replications, undeliverable events or failed backfill steps)',
      // FILL: an idle queue publishes no data points, and a sum with a missing term is missing.
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(fifoDlq, 0) + FILL(routerDlq, 0)',
        usingMetrics: { fifoDlq: depth(this.deadLetterQueue), routerDlq: depth(this.routerDeadLetterQueue) },
        label: 'Messages in the dead-letter queues',
        period: Duration.minutes(1),
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.suppressNagFindings(router, replicator, objectKeyPatterns(settings.scope), props);
  }

  private createBucket(removalPolicy: RemovalPolicy): s3.Bucket {
    return new s3.Bucket(this, 'Bucket', {
      versioned: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      eventBridgeEnabled: true,
      removalPolicy,
    });
  }

  /**
   * cdk-nag findings that are deliberate, recorded as cdk-nag metadata on the resources so that
   * consumers who run cdk-nag see them suppressed, with the reason, without configuring anything.
   */
  private suppressNagFindings(
    router: lambda.Function,
    replicator: lambda.Function,
    objectPatterns: string[],
    props: PartitionReplicatedBucketProps,
  ) {
    const stack = Stack.of(this);
    lambdaFunctionSuppressions(router);
    lambdaFunctionSuppressions(replicator);

    const sourceObjects = objectPatterns.map((pattern) => `Resource::${flattenCfnReference(stack.resolve(this.bucket.arnForObjects(pattern)))}`);
    addNagSuppressions(replicator.role!, [{
      id: 'AwsSolutions-IAM5',
      reason: 'Reading object versions, their tags and metadata from the source bucket is the replicator\'s job: ' +
        'the wildcards are the object ARNs of the source bucket (only under the configured prefixes) and ' +
        'the read-only action groups s3:GetObject*, s3:GetBucket* and s3:List* that aws-cdk-lib grants for reading.',
      appliesTo: ['Action::s3:GetObject*', 'Action::s3:GetBucket*', 'Action::s3:List*', ...sourceObjects],
    }]);

    if (!props.bucket) {
      addNagSuppressions(this.bucket.node.defaultChild!, [{
        id: 'AwsSolutions-S1',
        reason: 'Server access logging needs a log bucket and retention policy that belong to the bucket owner; ' +
          'pass your own bucket (with logging) as the bucket prop to have it.',
      }]);
    }

    if (!props.credentialsSecret) {
      addNagSuppressions(this.credentialsSecret.node.defaultChild!, [{
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
}

/**
 * The EventBridge detail types the rule forwards. Deletes are always forwarded, even when no kind
 * of delete is replicated: the replicator still records them (a version deleted before its copy is
 * never copied; an expired version leaves the version map).
 */
function detailTypes(settings: Settings): string[] {
  return settings.replicateTags ? [...OBJECT_DETAIL_TYPES, ...TAG_DETAIL_TYPES] : [...OBJECT_DETAIL_TYPES];
}

function addEnvironment(fn: lambda.Function, environment: Record<string, string>) {
  for (const [key, value] of Object.entries(environment)) {
    fn.addEnvironment(key, value);
  }
}

/** Synthesis fails when an adopted, app-defined bucket is not versioned: replication maps versions. */
function versioningProblems(bucket: s3.Bucket): string[] {
  const cfnBucket = bucket.node.defaultChild as IConstruct | undefined;
  if (!(cfnBucket instanceof s3.CfnBucket)) return [];
  const versioning = Stack.of(bucket).resolve(cfnBucket.versioningConfiguration);
  if (versioning?.status === 'Enabled') return [];
  return [`PartitionReplicatedBucket: bucket ${bucket.node.path} is not versioned; create it with versioned: true (replication maps object versions)`];
}

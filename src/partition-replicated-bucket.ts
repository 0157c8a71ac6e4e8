import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ReplicatorFunction } from './handlers/replicator-function';
import { RouterFunction } from './handlers/router-function';
import { PartitionReplicatedBucketProps } from './partition-replicated-bucket-props';
import { createHandlerFunction } from './private/handler-function';
import { Settings, validate } from './private/props-validation';
import { createQueue, queueReceiveLimit } from './private/queue-defaults';
import { ReplicationBackfill } from './private/replication-backfill';
import { replicationDashboard } from './private/replication-dashboard';
import { replicationMetric } from './private/replication-metrics';
import { replicationAlarms } from './private/replication-monitoring';
import { suppressReplicationNagFindings } from './private/replication-nag-suppressions';
import { sourceBucket } from './private/source-bucket';
import { grantObjectLockReads, replicateObjectLockSetting } from './private/source-object-lock';
import { isMetricName, METRIC_NAMES, MetricReplication } from './runtime/contract/metrics';
import { DestinationSettings, replicatorEnvironment, routerEnvironment } from './runtime/contract/replication-environment';
import { eventKeyFilter, objectKeyPatterns } from './runtime/contract/replication-scope';
import { OBJECT_DETAIL_TYPES, TAG_DETAIL_TYPES } from './runtime/contract/s3-eventbridge-event';

/**
 * Replicates the objects of an S3 bucket to a bucket in another AWS partition (for example from
 * `aws` to `aws-us-gov` or `aws-cn`), which native S3 replication cannot do.
 *
 * Deploy it in the source partition. Object events from the source bucket go through EventBridge
 * to a small router function, which puts them on an SQS FIFO queue grouped by object key, so
 * the versions of one key are replicated in order while different keys replicate in parallel.
 * The replicator function copies each version to the destination bucket with the credentials in
 * `credentialsSecret` and records the source-to-destination version mapping in `table`.
 * Failures are retried and end in dead-letter queues; `alarms` watch the backlog, the replication
 * SLO, failures and dead letters, and `dashboard` shows them.
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
   * `{"mode": "all-versions"}`, `{"mode": "current-versions"}` or `{"mode": "reconcile"}`; it answers
   * with the run id and where the report will be. It also operates the replication:
   * `{"mode": "status", "key": "...", "versionId": "..."}` answers whether that source version is
   * replicated, as which destination version and when (or pending, failed, superseded,
   * source-deleted, not found), and `{"mode": "redrive"}` moves the messages of both dead-letter
   * queues back to be replicated (optionally `"queue": "replication"` or `"router"`).
   */
  public readonly backfill: lambda.IFunction;

  /** The queue that carries a backfill run from one invocation to the next. */
  public readonly backfillQueue: sqs.Queue;

  /** Where backfill reports are written (`backfill-reports/<run id>/objects.jsonl` and `summary.json`). */
  public readonly reportBucket: s3.IBucket;

  /** The secret with the destination partition's credentials (see `credentialsSecret` in the props). */
  public readonly credentialsSecret: secretsmanager.ISecret;

  /**
   * In alarm while either dead-letter queue holds a message (one of `alarms`).
   */
  public readonly deadLetterAlarm: cloudwatch.Alarm;

  /**
   * Every alarm of the replication, each with a description that says what to do:
   * `PendingAgeAlarm` and `LatencyAlarm` (the replication SLO), `FailureAlarm` (failures in 3
   * consecutive 5-minute periods), `DeadLetterAlarm` (a dead-letter queue is not empty),
   * `NewDeadLettersAlarm` (new dead letters in the last minute, so it notifies again for new
   * failures), `DeadLetterExpiryAlarm` (a dead letter is 10 days old; SQS deletes it at 14),
   * `CredentialsSecretAlarm` (the secret is still `{}`), and the replicator's and the router's
   * errors and throttles. With `alarmTopic`, each notifies it of ALARM and OK.
   */
  public readonly alarms: cloudwatch.Alarm[];

  /** The replication's CloudWatch dashboard, unless `createDashboard` is false. */
  public readonly dashboard?: cloudwatch.Dashboard;

  /** Whose metrics these are: the handlers publish them with these buckets as dimensions. */
  private readonly metricReplication: MetricReplication;

  constructor(scope: Construct, id: string, props: PartitionReplicatedBucketProps) {
    super(scope, id);

    const settings = validate(props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    // --- Source bucket -------------------------------------------------------------------------
    this.bucket = sourceBucket(this, props.bucket, removalPolicy);
    const replicateObjectLock = replicateObjectLockSetting(props.bucket, props.replicateObjectLock);

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
    this.deadLetterQueue = createQueue(this, 'DeadLetterQueue', { fifo: true });
    this.queue = createQueue(this, 'Queue', {
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
    this.routerDeadLetterQueue = createQueue(this, 'RouterDeadLetterQueue');

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
    const router = createHandlerFunction(RouterFunction, this, 'Router', {
      description: 'Routes S3 object events of the source bucket onto the replication FIFO queue',
      timeout: Duration.seconds(30),
      memorySize: 256,
      deadLetterQueue: this.routerDeadLetterQueue,
      retryAttempts: 2,
      reservedConcurrentExecutions: props.routerReservedConcurrency,
      logGroupId: 'RouterLogs',
      removalPolicy,
      runtime: settings.runtime,
      handlerEnvironment: routerEnvironment({
        sourceBucket: this.bucket.bucketName,
        scope: settings.scope,
        queueUrl: this.queue.queueUrl,
      }),
    });
    this.queue.grantSendMessages(router);
    this.router = router;

    // --- Rule ----------------------------------------------------------------------------------
    const keyFilter = eventKeyFilter(settings.scope);
    this.rule = new events.Rule(this, 'Rule', {
      description: 'S3 object events of the source bucket, for cross-partition replication',
      eventPattern: {
        source: ['aws.s3'],
        detailType: detailTypes(settings),
        detail: {
          bucket: { name: [this.bucket.bucketName] },
          ...(keyFilter ? { object: { key: keyFilter } } : {}),
        },
      },
    });
    this.rule.addTarget(new targets.LambdaFunction(router, {
      deadLetterQueue: this.routerDeadLetterQueue,
      retryAttempts: 185,
      maxEventAge: Duration.hours(24),
    }));

    // --- Replicator ----------------------------------------------------------------------------
    const destination: DestinationSettings = {
      credentialsSecretId: this.credentialsSecret.secretArn,
      destinationBucket: props.destinationBucketName,
      destinationRegion: props.destinationRegion,
      destinationPartition: settings.destinationPartition,
      destinationEndpoint: props.destinationEndpoint,
      destinationStsEndpoint: props.destinationStsEndpoint,
      destinationAccount: props.destinationAccount,
    };
    const replicator = createHandlerFunction(ReplicatorFunction, this, 'Replicator', {
      description: `Replicates object versions of the source bucket to ${settings.destinationPartition}`,
      timeout: settings.replicatorTimeout,
      memorySize: settings.replicatorMemorySize,
      logGroupId: 'ReplicatorLogs',
      removalPolicy,
      runtime: settings.runtime,
      handlerEnvironment: replicatorEnvironment({
        sourceBucket: this.bucket.bucketName,
        scope: settings.scope,
        tableName: this.table.tableName,
        queueUrl: this.queue.queueUrl,
        deadLetterQueueUrl: this.deadLetterQueue.queueUrl,
        maxReceiveCount: settings.maxReceiveCount,
        ...destination,
        destinationKmsKeyArn: props.destinationKmsKeyArn,
        destinationStorageClass: props.destinationStorageClass?.value,
        destinationBucketKeyEnabled: props.destinationBucketKeyEnabled,
        replicateDeleteMarkers: settings.replicateDeleteMarkers,
        replicateVersionDeletes: settings.replicateVersionDeletes,
        replicateTags: settings.replicateTags,
        replicateObjectLock,
      }),
    });
    replicator.addEventSource(new SqsEventSource(this.queue, {
      batchSize: 10,
      reportBatchItemFailures: true,
      maxConcurrency: settings.maxConcurrency,
    }));
    // Read-only access to the source objects (under the prefixes, when given); never write or delete.
    const objectPatterns = objectKeyPatterns(settings.scope);
    for (const pattern of objectPatterns) {
      this.bucket.grantRead(replicator, pattern);
    }
    // SSE-KMS sources: reading an object decrypts it with the customer managed key. grantRead above
    // already grants the bucket's own `encryptionKey`; another key is granted here. The backfill
    // lists versions only (no object reads), so it gets no key.
    if (props.sourceKmsKey && props.sourceKmsKey !== this.bucket.encryptionKey) props.sourceKmsKey.grantDecrypt(replicator);
    if (replicateObjectLock) grantObjectLockReads(replicator, this.bucket, objectPatterns);
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
      replicationDeadLetterQueue: this.deadLetterQueue,
      maxReceiveCount: settings.maxReceiveCount,
      // The backfill only lists the destination: with a list-only secret it never holds the write key.
      credentialsSecret: props.reconcileCredentialsSecret ?? this.credentialsSecret,
      destination,
      backfillOnDeploy: props.backfillOnDeploy,
      reportBucket: props.reportBucket,
      inventoryBucket: props.inventoryBucket,
      removalPolicy,
      runtime: settings.runtime,
      startAfter: [this.queue, this.table, replicator],
    });
    this.backfill = backfill.function;
    this.backfillQueue = backfill.queue;
    this.reportBucket = backfill.reportBucket;

    // --- Monitoring ----------------------------------------------------------------------------
    this.metricReplication = {
      sourceBucket: this.bucket.bucketName,
      destinationBucket: props.destinationBucketName,
      destinationPartition: settings.destinationPartition,
    };
    const monitored = {
      queue: this.queue,
      deadLetterQueue: this.deadLetterQueue,
      routerDeadLetterQueue: this.routerDeadLetterQueue,
      metric: (name: (typeof METRIC_NAMES)[number], options?: cloudwatch.MetricOptions) => replicationMetric(name, this.metricReplication, options),
      slo: settings.replicationSlo,
    };
    const alarms = replicationAlarms(this, { ...monitored, replicator, router, alarmTopic: props.alarmTopic });
    this.deadLetterAlarm = alarms.deadLetterAlarm;
    this.alarms = alarms.alarms;
    if (props.createDashboard ?? true) {
      this.dashboard = replicationDashboard(this, 'Dashboard', {
        ...monitored,
        functions: { Router: router, Replicator: replicator, Backfill: backfill.function },
      });
    }

    // --- cdk-nag: last, so that the suppressions on the roles reach all their policies ----------
    suppressReplicationNagFindings(this, {
      router,
      replicator,
      objectPatterns,
      bucket: this.bucket,
      createdBucket: !props.bucket,
      credentialsSecret: this.credentialsSecret,
      createdSecret: !props.credentialsSecret,
    });
  }

  /**
   * A metric the replication's handlers publish (namespace `PartitionReplicatedBucket`), by its
   * name in the README's Monitoring list, with this replication's dimensions. Counts default to
   * their sum over 5 minutes.
   *
   * @param metricName one of the metrics of the README's Monitoring section, for example `EventsSkipped`
   */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    if (!isMetricName(metricName)) {
      throw new Error(`PartitionReplicatedBucket.metric: "${metricName}" is not a metric of this construct; use one of ${METRIC_NAMES.join(', ')}`);
    }
    return replicationMetric(metricName, this.metricReplication, props);
  }

  /**
   * Milliseconds from each S3 event to its replica (`ReplicationLatency`; versions copied by a
   * backfill are not included). Maximum over 5 minutes by default, as S3 Replication Time Control
   * reports its latency; pass `statistic: 'p99'` for the percentile the `LatencyAlarm` watches.
   */
  public metricReplicationLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ReplicationLatency', props);
  }

  /** Object versions copied to the destination (`ObjectsReplicated`). Sum over 5 minutes by default. */
  public metricObjectsReplicated(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ObjectsReplicated', props);
  }

  /** Bytes copied to the destination (`BytesReplicated`). Sum over 5 minutes by default. */
  public metricBytesReplicated(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('BytesReplicated', props);
  }

  /**
   * Failed replication attempts (`ReplicationFailures`): each is retried, and dead-lettered after
   * `maxReceiveCount` attempts. Sum over 5 minutes by default.
   */
  public metricReplicationFailures(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ReplicationFailures', props);
  }

  /**
   * Seconds the oldest message has waited in the replication queue (SQS
   * `ApproximateAgeOfOldestMessage`): how far behind replication is. Maximum over 1 minute by default.
   */
  public metricOldestPendingAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * Replication operations waiting in the queue (SQS `ApproximateNumberOfMessagesVisible`: object
   * versions, deletes and tag changes not yet taken up; messages being copied or waiting to be
   * retried are in `ApproximateNumberOfMessagesNotVisible`). Maximum over 1 minute by default.
   */
  public metricPendingOperations(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM, ...props });
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

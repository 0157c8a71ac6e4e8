import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as triggers from 'aws-cdk-lib/triggers';
import { Construct } from 'constructs';
import { createHandlerFunction } from './handler-function';
import { addNagSuppressions, flattenCfnReference, lambdaFunctionSuppressions } from './nag-suppressions';
import { createQueue } from './queue-defaults';
import { BackfillMode } from '../backfill-mode';
import { BackfillFunction } from '../handlers/backfill-function';
import { backfillEnvironment, DestinationSettings } from '../runtime/contract/replication-environment';
import { hasTagFilter, objectKeyPatterns, ReplicationScope } from '../runtime/contract/replication-scope';

/** Backfill reports go under this prefix of the report bucket. */
export const REPORT_PREFIX = 'backfill-reports/';

/** What the backfill is wired to (internal: `PartitionReplicatedBucket` creates it). */
export interface ReplicationBackfillProps {
  readonly sourceBucket: s3.IBucket;
  readonly scope: ReplicationScope;
  readonly table: dynamodb.ITable;
  /** The replication FIFO queue the backfill feeds. */
  readonly replicationQueue: sqs.IQueue;
  /**
   * Where backfill steps go after `maxReceiveCount` failed receives: the router's dead-letter queue,
   * which the `redrive` mode empties.
   */
  readonly deadLetterQueue: sqs.IQueue;
  /** The replicator's FIFO dead-letter queue, which the `redrive` mode empties onto `replicationQueue`. */
  readonly replicationDeadLetterQueue: sqs.IQueue;
  readonly maxReceiveCount: number;
  /** The secret reconcile runs list the destination with (its ARN replaces the destination's). */
  readonly credentialsSecret: secretsmanager.ISecret;
  /** The destination, which reconcile runs list. */
  readonly destination: DestinationSettings;
  readonly backfillOnDeploy?: BackfillMode;
  readonly reportBucket?: s3.IBucket;
  /** The bucket of the source's S3 Inventory reports, which `inventory` runs read. */
  readonly inventoryBucket?: s3.IBucket;
  readonly removalPolicy: RemovalPolicy;
  /** Replaces the pinned Lambda runtime, when given. */
  readonly runtime?: lambda.Runtime;
  /** What must exist before a run on deployment starts. */
  readonly startAfter: Construct[];
}

/**
 * The backfill of a `PartitionReplicatedBucket`: its function, the queue that carries a run from
 * one invocation to the next, the report bucket and, optionally, the run on deployment.
 */
export class ReplicationBackfill extends Construct {
  public readonly function: lambda.Function;
  public readonly queue: sqs.Queue;
  public readonly reportBucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: ReplicationBackfillProps) {
    super(scope, id);
    this.reportBucket = props.reportBucket ?? new s3.Bucket(this, 'ReportBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      removalPolicy: props.removalPolicy,
    });
    const timeout = Duration.minutes(15);
    this.queue = createQueue(this, 'Queue', {
      // A step runs until its time is nearly up; the message must stay hidden that long and more.
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
      deadLetterQueue: { queue: props.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });
    const backfill = createHandlerFunction(BackfillFunction, this, 'Function', {
      description: 'Replicates the objects that existed before replication was switched on, answers a version\'s status, ' +
        'redrives dead letters (invoke with {"mode": ...})',
      timeout,
      memorySize: 512,
      logGroupId: 'Logs',
      removalPolicy: props.removalPolicy,
      runtime: props.runtime,
      handlerEnvironment: backfillEnvironment({
        sourceBucket: props.sourceBucket.bucketName,
        scope: props.scope,
        tableName: props.table.tableName,
        queueUrl: props.replicationQueue.queueUrl,
        backfillQueueUrl: this.queue.queueUrl,
        backfillMode: props.backfillOnDeploy ?? BackfillMode.ALL_VERSIONS,
        reportBucket: this.reportBucket.bucketName,
        reportPrefix: REPORT_PREFIX,
        deadLetterQueueUrl: props.replicationDeadLetterQueue.queueUrl,
        routerDeadLetterQueueUrl: props.deadLetterQueue.queueUrl,
        ...props.destination,
        credentialsSecretId: props.credentialsSecret.secretArn,
      }),
    });
    backfill.addEventSource(new SqsEventSource(this.queue, { batchSize: 1 }));

    // Listing only: the backfill never reads object contents.
    backfill.addToRolePolicy(new iam.PolicyStatement({
      actions: ['s3:ListBucket', 's3:ListBucketVersions'],
      resources: [props.sourceBucket.bucketArn],
    }));
    if (hasTagFilter(props.scope)) {
      // The status mode tells a version the tag filter skips from one still pending by its tags (never its bytes).
      const sourceObjects = objectKeyPatterns(props.scope).map((pattern) => props.sourceBucket.arnForObjects(pattern));
      backfill.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObjectVersionTagging'], resources: sourceObjects }));
      addNagSuppressions(backfill.role!, [{
        id: 'AwsSolutions-IAM5',
        reason: 'With tagFilter, the status mode reads the tags of source versions (s3:GetObjectVersionTagging only, never their ' +
          'bytes) to tell a version the filter skips from one pending: the wildcards are the source bucket\'s object ARNs under the prefixes.',
        appliesTo: sourceObjects.map((arn) => `Resource::${flattenCfnReference(Stack.of(this).resolve(arn))}`),
      }]);
    }
    props.table.grantReadWriteData(backfill);
    // Runs and the redrive send to both queues; the redrive takes the dead letters off their queues.
    props.replicationQueue.grantSendMessages(backfill);
    this.queue.grantSendMessages(backfill);
    props.replicationDeadLetterQueue.grantConsumeMessages(backfill);
    props.deadLetterQueue.grantConsumeMessages(backfill);
    this.reportBucket.grantPut(backfill, `${REPORT_PREFIX}*`);
    // Reconcile runs list the destination bucket; nothing else the backfill does reaches it.
    props.credentialsSecret.grantRead(backfill);
    this.function = backfill;
    if (props.inventoryBucket) {
      // Inventory runs read the manifest and its CSV files; nothing else of that bucket.
      props.inventoryBucket.grantRead(backfill);
      addNagSuppressions(backfill.role!, [{
        id: 'AwsSolutions-IAM5',
        reason: 'Inventory runs read an S3 Inventory manifest and its files, whose keys S3 chooses per report ' +
          '(<prefix>/<bucket>/<config>/<date>/...): the wildcards are the inventory bucket\'s objects and grantRead\'s s3:GetObject*, s3:GetBucket*, s3:List*.',
        appliesTo: [
          'Action::s3:GetObject*', 'Action::s3:GetBucket*', 'Action::s3:List*',
          `Resource::${flattenCfnReference(Stack.of(this).resolve(props.inventoryBucket.arnForObjects('*')))}`,
        ],
      }]);
    }

    if (props.backfillOnDeploy) {
      // Once, when the construct is created (not on every code change): later runs are on demand.
      new triggers.Trigger(this, 'OnDeploy', {
        handler: backfill,
        invocationType: triggers.InvocationType.EVENT,
        executeOnHandlerChange: false,
        executeAfter: props.startAfter,
      });
    }
    this.suppressNagFindings(!props.reportBucket);
  }

  /** Deliberate cdk-nag findings, recorded as metadata with the reason (see `addNagSuppressions`). */
  private suppressNagFindings(ownReportBucket: boolean) {
    lambdaFunctionSuppressions(this.function);
    const reports = `Resource::${flattenCfnReference(Stack.of(this).resolve(this.reportBucket.arnForObjects(`${REPORT_PREFIX}*`)))}`;
    addNagSuppressions(this.function.role!, [{
      id: 'AwsSolutions-IAM5',
      reason: 'The backfill writes one report per run under backfill-reports/ of the report bucket (run ids are not known ' +
        'at deployment), and aws-cdk-lib\'s grantPut includes s3:Abort* so an interrupted multipart report upload can be cleaned up.',
      appliesTo: ['Action::s3:Abort*', reports],
    }]);
    if (ownReportBucket) {
      addNagSuppressions(this.reportBucket.node.defaultChild!, [{
        id: 'AwsSolutions-S1',
        reason: 'Only the backfill writes here (its reports); access logging needs a log bucket of the owner\'s choosing: ' +
          'pass your own bucket (with logging) as the reportBucket prop to have it.',
      }]);
    }
  }
}

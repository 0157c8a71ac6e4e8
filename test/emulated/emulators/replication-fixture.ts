import { randomBytes } from 'crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  IAMClient,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateBucketCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
} from '@aws-sdk/client-s3';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import {
  AccessKey,
  createUserWithKey,
  DESTINATION_PARTITION,
  DESTINATION_REGION,
  destinationClientConfig,
  destinationS3,
  emulators,
  SOURCE_REGION,
  sourceClientConfig,
  sourceS3,
} from './partitions';
import { S3Event, S3EventSource } from './s3-events';
import { sqsEventOf } from './sqs-event';
import { currentObject, StoredObject } from './stored-object';
export type { StoredObject } from './stored-object';
import { queueReceiveLimit } from '../../../src/private/queue-defaults';
import { BackfillRuns } from '../../../src/runtime/backfill/backfill-runs';
import { ReplicatorSettings } from '../../../src/runtime/contract/replication-environment';
import { messageGroupId, ObjectCreatedMessage } from '../../../src/runtime/contract/replication-message';
import { createTelemetry } from '../../../src/runtime/contract/telemetry';
import { VersionTable } from '../../../src/runtime/replication/key-state/version-table';
import { createReplicatorHandler } from '../../../src/runtime/replication/replicator-handler';
import { createRouterHandler } from '../../../src/runtime/replication/router-handler';

export type FixtureOptions = Partial<Pick<ReplicatorSettings,
'replicateDeleteMarkers' | 'replicateVersionDeletes' | 'replicateTags' | 'destinationKmsKeyArn' | 'destinationStorageClass'>> & {
  /** The construct's `prefixes` prop: the replication scope. */
  readonly prefixes?: string[];
  /** The handlers' log level; ERROR keeps test output readable. */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** The replicator's clock (milliseconds), to expire role sessions in tests. */
  readonly clock?: () => number;
  /**
   * Each replicator invocation's time (the Lambda context's remaining time) and the clock the copy
   * engine judges it by; unset: no time limit.
   */
  readonly invocation?: { readonly timeMs: number; readonly now: () => number; readonly reserveMs: number };
  /** Bytes of part buffers a large copy may hold; default 64 MiB. */
  readonly memoryBudget?: number;
};

/** A destination identity built from synthesized policies (see `installDestinationIdentity`). */
export interface DestinationIdentityPolicies {
  /** Inline policies of the IAM user, by name. */
  readonly userPolicies: Record<string, object>;
  /** Assume-role mode: the role's trust policy and inline policies, and the external id. */
  readonly role?: { readonly trustPolicy: object; readonly policies: Record<string, object>; readonly externalId: string };
}

/**
 * One replication set-up on the two emulated partitions, as the construct deploys it: a versioned
 * source bucket, the version table, the FIFO queue, the credentials secret (source partition), a
 * versioned destination bucket and the replicator's IAM user (destination partition, IAM enforced).
 * The real router and replicator handler code run against them; `replicate` plays EventBridge and
 * the Lambda SQS poller.
 */
export class ReplicationFixture {
  static async create(options: FixtureOptions = {}): Promise<ReplicationFixture> {
    const fixture = new ReplicationFixture(options);
    await fixture.provision();
    return fixture;
  }

  readonly id = `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  readonly sourceBucket = `${this.id}-source`;
  readonly destinationBucket = `${this.id}-replica`;
  readonly tableName = `${this.id}-versions`;
  readonly userName = `${this.id}-replicator`;
  readonly emulators = emulators();
  readonly sourceS3 = sourceS3(this.emulators.sourceEndpoint, this.emulators.sourceAdmin);
  readonly dynamodb = new DynamoDBClient(sourceClientConfig(this.emulators.sourceEndpoint, this.emulators.sourceAdmin));
  /** The fixture's version map, as the replicator's runtime reads it. */
  readonly versionTable = new VersionTable(this.dynamodb, this.tableName);
  readonly secretsManager = new SecretsManagerClient(sourceClientConfig(this.emulators.sourceEndpoint, this.emulators.sourceAdmin));
  readonly sqs = new SQSClient(sourceClientConfig(this.emulators.sourceEndpoint, this.emulators.sourceAdmin));
  readonly adminS3 = destinationS3(this.emulators.destinationEndpoint, this.emulators.destinationAdmin);
  readonly iam = new IAMClient(destinationClientConfig(this.emulators.destinationEndpoint, this.emulators.destinationAdmin));
  readonly sourceIam = new IAMClient(sourceClientConfig(this.emulators.sourceEndpoint, this.emulators.sourceAdmin));
  readonly events = new S3EventSource(this.sourceS3, this.sourceBucket, SOURCE_REGION);
  secretArn = '';
  private readonly receiving = new Mutex();
  queueUrl = '';
  deadLetterQueueUrl = '';
  settings!: ReplicatorSettings;
  replicatorHandler!: (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;
  routerHandler!: (event: unknown) => Promise<{ routed: boolean }>;

  private constructor(private readonly options: FixtureOptions) {}

  /**
   * Routes the events (EventBridge -> router -> FIFO queue), then lets the replicator drain the
   * queue. Throws when a message ends dead-lettered, unless `allowDeadLetters`.
   */
  async replicate(events: S3Event[], { allowDeadLetters = false } = {}): Promise<DrainResult> {
    for (const event of events) await this.routerHandler(event);
    const result = await this.drain();
    if (result.deadLettered && !allowDeadLetters) {
      throw new Error(`messages were dead-lettered: ${result.deadLettered.join('\n')}`);
    }
    return result;
  }

  /**
   * Plays the Lambda SQS poller: receives up to 10 messages, invokes the replicator, deletes what
   * succeeded and makes the reported failures visible again, until the queue is empty or
   * `maxReceives` rounds of failures have passed.
   */
  async drain(maxReceives = 3, handler = this.replicatorHandler): Promise<DrainResult> {
    const result = await this.drainQueue(maxReceives, handler);
    const deadLettered = [...result.deadLettered ?? [], ...await this.takeDeadLetters()];
    return deadLettered.length > 0 ? { ...result, deadLettered } : result;
  }

  /**
   * Receives up to 10 messages as the Lambda SQS poller does, with their system attributes, and
   * shapes them as the replicator's event. `visibilityTimeout` unset: the queue's own.
   */
  async receiveBatch(visibilityTimeout?: number): Promise<{ event: SQSEvent; messages: Message[] }> {
    // moto's server answers concurrent receives without a lock, so two could take the same message
    // group; SQS's receive is atomic, and serialising the receives (not the processing) restores that.
    const received = await this.receiving.run(() => this.sqs.send(new ReceiveMessageCommand({
      QueueUrl: this.queueUrl,
      MaxNumberOfMessages: 10,
      MessageSystemAttributeNames: ['All'],
      VisibilityTimeout: visibilityTimeout,
    })));
    const messages = received.Messages ?? [];
    return { event: sqsEventOf(messages, `arn:aws:sqs:${SOURCE_REGION}:123456789012:${this.id}.fifo`), messages };
  }

  /** A copy message as a backfill run enqueues it (with `staleReplica`, a reconcile's repair). */
  async enqueueBackfillCopy(key: string, versionId: string, runId: string, fields: Partial<ObjectCreatedMessage> = {}): Promise<void> {
    const message: ObjectCreatedMessage = {
      v: 1,
      kind: 'ObjectCreated',
      bucket: this.sourceBucket,
      key,
      versionId,
      time: new Date().toISOString(),
      requestId: `backfill-${runId}`,
      lastModified: new Date().toISOString(),
      reason: 'Backfill',
      ...fields,
    };
    await this.sqs.send(new SendMessageCommand({
      QueueUrl: this.queueUrl,
      MessageBody: JSON.stringify(message),
      MessageGroupId: messageGroupId(this.sourceBucket, key),
      MessageDeduplicationId: runId,
    }));
  }

  /** Takes (receives and deletes) what the dead-letter queue holds; returns the bodies. */
  async takeDeadLetters(): Promise<string[]> {
    const bodies: string[] = [];
    for (;;) {
      const { Messages: messages = [] } = await this.sqs.send(new ReceiveMessageCommand({
        QueueUrl: this.deadLetterQueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 30,
      }));
      if (messages.length === 0) return bodies;
      bodies.push(...messages.map((message) => message.Body!));
      await this.sqs.send(new DeleteMessageBatchCommand({
        QueueUrl: this.deadLetterQueueUrl,
        Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
      }));
    }
  }

  private async drainQueue(maxReceives: number, handler: ReplicationFixture['replicatorHandler']): Promise<DrainResult> {
    const result: DrainResult = { processed: 0, failures: 0 };
    let failedRounds = 0;
    for (;;) {
      const { event, messages } = await this.receiveBatch(30);
      if (messages.length === 0) return result;
      const response = await handler(event, this.invocationContext());
      const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
      const succeeded = messages.filter((message) => !failed.has(message.MessageId!));
      result.processed += succeeded.length;
      if (succeeded.length > 0) {
        await this.sqs.send(new DeleteMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: succeeded.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
        }));
      }
      if (failed.size > 0) {
        result.failures += failed.size;
        failedRounds += 1;
        const retry = messages.filter((message) => failed.has(message.MessageId!));
        if (retry.length === 0) throw new Error(`reported failures ${[...failed].join(', ')} match no received message (${messages.map((m) => m.MessageId).join(', ')})`);
        if (failedRounds >= maxReceives) {
          // What the redrive policy would move to the dead-letter queue.
          result.deadLettered = retry.map((message) => message.Body!);
          await this.sqs.send(new DeleteMessageBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: retry.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
          }));
          return result;
        }
        await this.sqs.send(new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: retry.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: 0 })),
        }));
      }
    }
  }

  /** A Lambda context whose remaining time runs down on the invocation clock, when one is set. */
  private invocationContext(): Context | undefined {
    const invocation = this.options.invocation;
    if (!invocation) return undefined;
    const deadline = invocation.now() + invocation.timeMs;
    return { getRemainingTimeInMillis: () => deadline - invocation.now() } as Context;
  }

  /** Several `drain` loops at once, as Lambda runs several batches of different message groups in parallel. */
  async drainConcurrently(loops: number): Promise<DrainResult> {
    const results = await Promise.all(Array.from({ length: loops }, () => this.drain()));
    return results.reduce((total, result) => ({
      processed: total.processed + result.processed,
      failures: total.failures + result.failures,
      ...(total.deadLettered || result.deadLettered ? { deadLettered: [...total.deadLettered ?? [], ...result.deadLettered ?? []] } : {}),
    }), { processed: 0, failures: 0 } as DrainResult);
  }

  /** The destination's current object for a key, or undefined when it is deleted or absent. */
  destinationObject(key: string): Promise<StoredObject | undefined> {
    return currentObject(this.adminS3, this.destinationBucket, key);
  }

  /** The source's current object for a key, read the same way, to compare the two sides. */
  sourceObject(key: string): Promise<StoredObject | undefined> {
    return currentObject(this.sourceS3, this.sourceBucket, key);
  }

  /** Every version and delete marker of a key on the destination, newest first. */
  async destinationVersions(key: string) {
    const listed = await this.adminS3.send(new ListObjectVersionsCommand({ Bucket: this.destinationBucket, Prefix: key }));
    return {
      versions: (listed.Versions ?? []).filter((version) => version.Key === key),
      deleteMarkers: (listed.DeleteMarkers ?? []).filter((marker) => marker.Key === key),
    };
  }

  async headDestination(key: string, versionId: string) {
    return this.adminS3.send(new HeadObjectCommand({ Bucket: this.destinationBucket, Key: key, VersionId: versionId }));
  }

  /** A new key pair for the replicator's destination user (for rotation tests). */
  async createDestinationKey(userName = this.userName): Promise<AccessKey> {
    const { AccessKey: key } = await this.iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    return { accessKeyId: key!.AccessKeyId!, secretAccessKey: key!.SecretAccessKey! };
  }

  /** Writes the credentials secret in the shape the construct documents. */
  async putSecret(value: Record<string, unknown> | string): Promise<void> {
    await this.secretsManager.send(new PutSecretValueCommand({
      SecretId: this.secretArn,
      SecretString: typeof value === 'string' ? value : JSON.stringify(value),
    }));
  }

  secretFor(key: AccessKey): Record<string, string> {
    return {
      user: this.userName,
      accesskey: key.accessKeyId,
      secretaccesskey: key.secretAccessKey,
      partition: DESTINATION_PARTITION,
      accountid: '123456789012',
    };
  }

  /**
   * Rebuilds the router and replicator with source-partition clients signed by `key`, so the
   * source side runs with exactly the rights that key's policies grant.
   */
  useSourceIdentity(key: AccessKey, routerKey: AccessKey = key): void {
    const config = sourceClientConfig(this.emulators.sourceEndpoint, key);
    const logLevel = this.options.logLevel ?? 'ERROR';
    const dynamodb = new DynamoDBClient(config);
    this.replicatorHandler = createReplicatorHandler(
      this.settings,
      {
        s3: sourceS3(this.emulators.sourceEndpoint, key),
        dynamodb,
        secretsManager: new SecretsManagerClient(config),
        sqs: new SQSClient(config),
      },
      createTelemetry('replicator', logLevel),
      {
        memoryBudget: this.options.memoryBudget ?? 64 * 1024 * 1024,
        now: this.options.invocation?.now,
        reserveMs: this.options.invocation?.reserveMs,
      },
      new BackfillRuns(dynamodb, this.tableName),
      this.options.clock,
    );
    this.routerHandler = createRouterHandler(
      { sourceBucket: this.sourceBucket, scope: this.settings.scope, queueUrl: this.queueUrl },
      new SQSClient(sourceClientConfig(this.emulators.sourceEndpoint, routerKey)),
      createTelemetry('router', logLevel),
    );
  }

  /** Creates a source-partition IAM user with the given inline policies and returns its key. */
  async createSourceUser(name: string, policies: Record<string, object>): Promise<AccessKey> {
    return createUserWithKey(this.sourceIam, `${this.id}-${name}`, policies);
  }

  /**
   * Creates a destination IAM user (and, in assume-role mode, its role) with the given policies,
   * gives it a key and points the credentials secret at it, in the construct's documented shape.
   */
  async installDestinationIdentity(
    name: string,
    policies: DestinationIdentityPolicies,
  ): Promise<{ userName: string; key: AccessKey; roleArn?: string }> {
    const userName = `${this.id}-${name}`;
    await this.iam.send(new CreateUserCommand({ UserName: userName }));
    for (const [policyName, document] of Object.entries(policies.userPolicies)) {
      await this.iam.send(new PutUserPolicyCommand({ UserName: userName, PolicyName: policyName, PolicyDocument: JSON.stringify(document) }));
    }
    let roleArn: string | undefined;
    if (policies.role) {
      const role = await this.iam.send(new CreateRoleCommand({
        RoleName: `${userName}-role`,
        AssumeRolePolicyDocument: JSON.stringify(policies.role.trustPolicy),
      }));
      roleArn = role.Role!.Arn!;
      for (const [policyName, document] of Object.entries(policies.role.policies)) {
        await this.iam.send(new PutRolePolicyCommand({ RoleName: `${userName}-role`, PolicyName: policyName, PolicyDocument: JSON.stringify(document) }));
      }
    }
    const { AccessKey: created } = await this.iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    const key = { accessKeyId: created!.AccessKeyId!, secretAccessKey: created!.SecretAccessKey! };
    await this.putSecret({
      ...this.secretFor(key),
      user: userName,
      ...(roleArn ? { rolearn: roleArn, externalid: policies.role!.externalId } : {}),
    });
    return { userName, key, roleArn };
  }

  private async provision(): Promise<void> {
    await this.sourceS3.send(new CreateBucketCommand({ Bucket: this.sourceBucket }));
    await this.sourceS3.send(new PutBucketVersioningCommand({ Bucket: this.sourceBucket, VersioningConfiguration: { Status: 'Enabled' } }));
    await this.dynamodb.send(new CreateTableCommand({
      TableName: this.tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
    }));
    // As the construct deploys them: a FIFO dead-letter queue, and a redrive policy as the backstop.
    const fifo = { FifoQueue: 'true', DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' };
    const deadLetters = await this.sqs.send(new CreateQueueCommand({ QueueName: `${this.id}-dlq.fifo`, Attributes: fifo }));
    this.deadLetterQueueUrl = deadLetters.QueueUrl!;
    const queue = await this.sqs.send(new CreateQueueCommand({
      QueueName: `${this.id}.fifo`,
      Attributes: {
        ...fifo,
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: `arn:aws:sqs:${SOURCE_REGION}:123456789012:${this.id}-dlq.fifo`,
          maxReceiveCount: queueReceiveLimit(FIXTURE_MAX_RECEIVE_COUNT),
        }),
      },
    }));
    this.queueUrl = queue.QueueUrl!;

    await this.adminS3.send(new CreateBucketCommand({
      Bucket: this.destinationBucket,
      CreateBucketConfiguration: { LocationConstraint: DESTINATION_REGION },
    }));
    await this.adminS3.send(new PutBucketVersioningCommand({ Bucket: this.destinationBucket, VersioningConfiguration: { Status: 'Enabled' } }));
    await this.iam.send(new CreateUserCommand({ UserName: this.userName }));
    await this.iam.send(new PutUserPolicyCommand({
      UserName: this.userName,
      PolicyName: 'replicate-into-bucket',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{
          Effect: 'Allow',
          Action: 's3:*',
          Resource: [`arn:${DESTINATION_PARTITION}:s3:::${this.destinationBucket}`, `arn:${DESTINATION_PARTITION}:s3:::${this.destinationBucket}/*`],
        }],
      }),
    }));
    const key = await this.createDestinationKey();
    const secret = await this.secretsManager.send(new CreateSecretCommand({
      Name: `${this.id}/destination-credentials`,
      SecretString: JSON.stringify(this.secretFor(key)),
    }));
    this.secretArn = secret.ARN!;

    this.settings = {
      sourceBucket: this.sourceBucket,
      scope: { prefixes: this.options.prefixes ?? [] },
      tableName: this.tableName,
      queueUrl: this.queueUrl,
      deadLetterQueueUrl: this.deadLetterQueueUrl,
      // The replicator dead-letters a message on its third failed attempt; `drain` plays the queue's
      // redrive for what it does not dead-letter itself after `maxReceives` rounds of failures.
      maxReceiveCount: FIXTURE_MAX_RECEIVE_COUNT,
      credentialsSecretId: this.secretArn,
      destinationBucket: this.destinationBucket,
      destinationRegion: DESTINATION_REGION,
      destinationPartition: DESTINATION_PARTITION,
      destinationEndpoint: this.emulators.destinationEndpoint,
      destinationStsEndpoint: this.emulators.destinationEndpoint,
      destinationKmsKeyArn: this.options.destinationKmsKeyArn,
      destinationStorageClass: this.options.destinationStorageClass,
      replicateDeleteMarkers: this.options.replicateDeleteMarkers ?? true,
      replicateVersionDeletes: this.options.replicateVersionDeletes ?? false,
      replicateTags: this.options.replicateTags ?? true,
    };
    this.useSourceIdentity(this.emulators.sourceAdmin);
  }
}

/** The replicator's `maxReceiveCount` in the fixture. */
const FIXTURE_MAX_RECEIVE_COUNT = 3;

export interface DrainResult {
  processed: number;
  failures: number;
  /** Message bodies that ended in the dead-letter queue (sent there by the replicator, or by `drain` playing the redrive policy). */
  deadLettered?: string[];
}

/** One caller at a time. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

import { randomBytes } from 'crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { HeadObjectCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  AccessKey,
  createUserWithKey,
  DESTINATION_REGION,
  destinationClientConfig,
  destinationS3,
  emulators,
  SOURCE_REGION,
  sourceClientConfig,
  sourceS3,
} from './partitions';
import { createFixtureHandlers, FixtureOptions, fixtureSettings, RouterHandler } from './replication-handlers';
import {
  createAccessKey,
  createDestinationIdentity,
  createReplicatorUser,
  credentialsSecret,
  DestinationIdentityPolicies,
} from './replication-identities';
import {
  createCredentialsSecret,
  createReplicationQueues,
  createVersionedBucket,
  createVersionTable,
  sourceQueueArn,
} from './replication-resources';
import { S3Event, S3EventSource } from './s3-events';
import {
  DrainResult,
  drainQueue,
  invocationContext,
  Mutex,
  ReceivedBatch,
  receiveBatch,
  ReplicatorHandler,
  sumDrainResults,
  takeDeadLetters,
} from './sqs-poller';
import { currentObject, StoredObject } from './stored-object';
export type { StoredObject } from './stored-object';
export type { FixtureOptions } from './replication-handlers';
export type { DestinationIdentityPolicies } from './replication-identities';
export type { DrainResult } from './sqs-poller';
import { BackfillRuns } from '../../../src/runtime/backfill/backfill-runs';
import { ReplicatorSettings } from '../../../src/runtime/contract/replication-environment';
import { messageGroupId, ObjectCreatedMessage } from '../../../src/runtime/contract/replication-message';
import { createTelemetry } from '../../../src/runtime/contract/telemetry';
import { VersionTable } from '../../../src/runtime/replication/key-state/version-table';
import { CopyRuntime, createReplicatorHandler } from '../../../src/runtime/replication/replicator-handler';

/**
 * One replication set-up on the two emulated partitions, as the construct deploys it: a versioned
 * source bucket, the version table, the FIFO queue, the credentials secret (source partition), a
 * versioned destination bucket and the replicator's IAM user (destination partition, IAM enforced).
 * The real router and replicator handler code run against them; `replicate` plays EventBridge and
 * the Lambda SQS poller. The pieces live beside it: replication-resources.ts (what is created),
 * replication-identities.ts (IAM users, roles and the secret's shape), replication-handlers.ts
 * (settings and handlers) and sqs-poller.ts (the Lambda SQS poller).
 */
export class ReplicationFixture {
  static async create(options: FixtureOptions = {}): Promise<ReplicationFixture> {
    const fixture = new ReplicationFixture(options);
    await fixture.provision();
    return fixture;
  }

  readonly id = `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  /** The fixture's own source bucket, or the one `options.sourceBucket` adopts. */
  readonly sourceBucket: string;
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
  readonly events: S3EventSource;
  secretArn = '';
  private readonly receiving = new Mutex();
  queueUrl = '';
  deadLetterQueueUrl = '';
  settings!: ReplicatorSettings;
  replicatorHandler!: ReplicatorHandler;
  routerHandler!: RouterHandler;

  private constructor(private readonly options: FixtureOptions) {
    this.sourceBucket = options.sourceBucket ?? `${this.id}-source`;
    this.events = new S3EventSource(this.sourceS3, this.sourceBucket, SOURCE_REGION);
  }

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
    const result = await drainQueue(
      this,
      maxReceives,
      handler,
      (visibilityTimeout) => this.receiveBatch(visibilityTimeout),
      () => invocationContext(this.options.invocation),
    );
    const deadLettered = [...result.deadLettered ?? [], ...await this.takeDeadLetters()];
    return deadLettered.length > 0 ? { ...result, deadLettered } : result;
  }

  /**
   * Receives up to 10 messages as the Lambda SQS poller does, with their system attributes, and
   * shapes them as the replicator's event. `visibilityTimeout` unset: the queue's own.
   */
  async receiveBatch(visibilityTimeout?: number): Promise<ReceivedBatch> {
    return receiveBatch(this, sourceQueueArn(`${this.id}.fifo`), this.receiving, visibilityTimeout);
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
    return takeDeadLetters(this.sqs, this.deadLetterQueueUrl);
  }

  /** Several `drain` loops at once, as Lambda runs several batches of different message groups in parallel. */
  async drainConcurrently(loops: number): Promise<DrainResult> {
    return sumDrainResults(await Promise.all(Array.from({ length: loops }, () => this.drain())));
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
    return createAccessKey(this.iam, userName);
  }

  /** Writes the credentials secret in the shape the construct documents. */
  async putSecret(value: Record<string, unknown> | string): Promise<void> {
    await this.secretsManager.send(new PutSecretValueCommand({
      SecretId: this.secretArn,
      SecretString: typeof value === 'string' ? value : JSON.stringify(value),
    }));
  }

  secretFor(key: AccessKey): Record<string, string> {
    return credentialsSecret(this.userName, key);
  }

  /**
   * Rebuilds the router and replicator with source-partition clients signed by `key`, so the
   * source side runs with exactly the rights that key's policies grant.
   */
  /**
   * The real replicator handler on this fixture's resources, reading the source through `source`:
   * a client whose middleware observes, changes or breaks the reads a test is about.
   */
  replicatorReadingThrough(
    source: S3Client, runtime: CopyRuntime = { memoryBudget: 64 * 1024 * 1024 }, logLevel: 'WARN' | 'ERROR' = 'ERROR',
  ): ReplicatorHandler {
    return createReplicatorHandler(
      this.settings,
      { s3: source, dynamodb: this.dynamodb, secretsManager: this.secretsManager, sqs: this.sqs },
      createTelemetry('replicator', { logLevel }),
      runtime,
      new BackfillRuns(this.dynamodb, this.tableName),
    );
  }

  useSourceIdentity(key: AccessKey, routerKey: AccessKey = key): void {
    const handlers = createFixtureHandlers(this.settings, this.options, this, {
      sourceEndpoint: this.emulators.sourceEndpoint,
      key,
      routerKey,
    });
    this.replicatorHandler = handlers.replicatorHandler;
    this.routerHandler = handlers.routerHandler;
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
    const { key, roleArn } = await createDestinationIdentity(this.iam, userName, policies);
    await this.putSecret({
      ...this.secretFor(key),
      user: userName,
      ...(roleArn ? { rolearn: roleArn, externalid: policies.role!.externalId } : {}),
    });
    return { userName, key, roleArn };
  }

  private async provision(): Promise<void> {
    // A second construct on the same bucket adopts it: it exists already.
    if (!this.options.sourceBucket) await createVersionedBucket(this.sourceS3, this.sourceBucket);
    await createVersionTable(this.dynamodb, this.tableName);
    // As the construct deploys them: a FIFO dead-letter queue, and a redrive policy as the backstop.
    const queues = await createReplicationQueues(this.sqs, this.id);
    this.deadLetterQueueUrl = queues.deadLetterQueueUrl;
    this.queueUrl = queues.queueUrl;

    await createVersionedBucket(this.adminS3, this.destinationBucket, DESTINATION_REGION);
    const key = await createReplicatorUser(this.iam, this.userName, this.destinationBucket);
    this.secretArn = await createCredentialsSecret(this.secretsManager, this.id, this.secretFor(key));

    this.settings = fixtureSettings({
      sourceBucket: this.sourceBucket,
      tableName: this.tableName,
      queueUrl: this.queueUrl,
      deadLetterQueueUrl: this.deadLetterQueueUrl,
      secretArn: this.secretArn,
      destinationBucket: this.destinationBucket,
      destinationEndpoint: this.emulators.destinationEndpoint,
    }, this.options);
    this.useSourceIdentity(this.emulators.sourceAdmin);
  }
}

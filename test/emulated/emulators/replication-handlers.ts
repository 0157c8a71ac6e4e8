import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { AccessKey, DESTINATION_PARTITION, DESTINATION_REGION, sourceClientConfig, sourceS3 } from './partitions';
import { FIXTURE_MAX_RECEIVE_COUNT } from './replication-resources';
import type { ReplicatorHandler } from './sqs-poller';
import { BackfillRuns } from '../../../src/runtime/backfill/backfill-runs';
import { ReplicatorSettings } from '../../../src/runtime/contract/replication-environment';
import { createTelemetry } from '../../../src/runtime/contract/telemetry';
import { createReplicatorHandler } from '../../../src/runtime/replication/replicator-handler';
import { createRouterHandler } from '../../../src/runtime/replication/router-handler';

/**
 * The replication fixture's handlers: the replicator's settings as the construct sets them, and
 * the real router and replicator handler code built with source-partition clients of one identity.
 */

export type FixtureOptions = Partial<Pick<ReplicatorSettings,
'replicateDeleteMarkers' | 'replicateVersionDeletes' | 'replicateTags' | 'destinationKmsKeyArn' | 'destinationStorageClass'>> & {
  /** The construct's `prefixes` prop: the replication scope. */
  readonly prefixes?: string[];
  /** The construct's `tagFilter` prop: the scope's tag filter. */
  readonly tagFilter?: Record<string, string>;
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
  /** An existing source bucket to adopt (several destinations of one bucket); unset: the fixture creates its own. */
  readonly sourceBucket?: string;
};

export type RouterHandler = (event: unknown) => Promise<{ routed: boolean }>;

/** What the fixture provisioned, by name, URL and ARN, and where the destination partition listens. */
export interface ProvisionedReplication {
  readonly sourceBucket: string;
  readonly tableName: string;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly secretArn: string;
  readonly destinationBucket: string;
  readonly destinationEndpoint: string;
}

/** The replicator's settings for the provisioned resources, with the options' defaults. */
export function fixtureSettings(provisioned: ProvisionedReplication, options: FixtureOptions): ReplicatorSettings {
  return {
    sourceBucket: provisioned.sourceBucket,
    scope: { prefixes: options.prefixes ?? [], ...(options.tagFilter ? { tagFilter: options.tagFilter } : {}) },
    tableName: provisioned.tableName,
    queueUrl: provisioned.queueUrl,
    deadLetterQueueUrl: provisioned.deadLetterQueueUrl,
    // The replicator dead-letters a message on its third failed attempt; `drain` plays the queue's
    // redrive for what it does not dead-letter itself after `maxReceives` rounds of failures.
    maxReceiveCount: FIXTURE_MAX_RECEIVE_COUNT,
    credentialsSecretId: provisioned.secretArn,
    destinationBucket: provisioned.destinationBucket,
    destinationRegion: DESTINATION_REGION,
    destinationPartition: DESTINATION_PARTITION,
    destinationEndpoint: provisioned.destinationEndpoint,
    destinationStsEndpoint: provisioned.destinationEndpoint,
    destinationKmsKeyArn: options.destinationKmsKeyArn,
    destinationStorageClass: options.destinationStorageClass,
    replicateDeleteMarkers: options.replicateDeleteMarkers ?? true,
    replicateVersionDeletes: options.replicateVersionDeletes ?? false,
    replicateTags: options.replicateTags ?? true,
  };
}

/** Where the handlers' source-partition clients go, and the keys that sign them. */
export interface HandlerIdentity {
  readonly sourceEndpoint: string;
  /** Signs the replicator's clients. */
  readonly key: AccessKey;
  /** Signs the router's queue client. */
  readonly routerKey: AccessKey;
}

/**
 * The router and replicator handlers with source-partition clients signed by the identity's keys,
 * so the source side runs with exactly the rights those keys' policies grant.
 */
export function createFixtureHandlers(
  settings: ReplicatorSettings,
  options: FixtureOptions,
  resources: Pick<ProvisionedReplication, 'sourceBucket' | 'tableName' | 'queueUrl'>,
  identity: HandlerIdentity,
): { replicatorHandler: ReplicatorHandler; routerHandler: RouterHandler } {
  const config = sourceClientConfig(identity.sourceEndpoint, identity.key);
  const logLevel = options.logLevel ?? 'ERROR';
  const dynamodb = new DynamoDBClient(config);
  const replicatorHandler = createReplicatorHandler(
    settings,
    {
      s3: sourceS3(identity.sourceEndpoint, identity.key),
      dynamodb,
      secretsManager: new SecretsManagerClient(config),
      sqs: new SQSClient(config),
    },
    createTelemetry('replicator', { logLevel }),
    {
      memoryBudget: options.memoryBudget ?? 64 * 1024 * 1024,
      now: options.invocation?.now,
      reserveMs: options.invocation?.reserveMs,
    },
    new BackfillRuns(dynamodb, resources.tableName),
    options.clock,
  );
  const routerHandler = createRouterHandler(
    { sourceBucket: resources.sourceBucket, scope: settings.scope, queueUrl: resources.queueUrl },
    new SQSClient(sourceClientConfig(identity.sourceEndpoint, identity.routerKey)),
    createTelemetry('router', { logLevel }),
  );
  return { replicatorHandler, routerHandler };
}

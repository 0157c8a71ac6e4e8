import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { BackfillRuns, OutcomeRecord } from './backfill-runs';
import { destinationClientsFor } from './destination-client';
import { COPY_HANDOVER_RESERVE_SECONDS, ReplicatorSettings } from './replication-environment';
import { messageDeduplicationId, messageGroupId, parseReplicationMessage, ReplicationMessage } from './replication-message';
import { createReplicator, DeliveryLimits, Outcome } from './replicator';
import { metricsForOutcome, Telemetry } from './telemetry';
import { UploadCheckpoints } from './upload-checkpoints';
import { VersionTable } from './version-table';

export interface SourceClients {
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
  readonly secretsManager: SecretsManagerClient;
  readonly sqs: SQSClient;
}

/** How the handler runs copies: memory for part buffers, and the clock. */
export interface CopyRuntime {
  /** Bytes of part buffers a large copy may hold; see `copyMemoryBudget`. */
  readonly memoryBudget: number;
  /** Milliseconds since the epoch; tests move it. */
  readonly now?: () => number;
  /** Time kept back at the end of an invocation for recording and requeueing a large copy. */
  readonly reserveMs?: number;
}

/** Half the function's memory for part buffers, the rest for the runtime: at least two 8 MiB parts. */
export function copyMemoryBudget(functionMemoryMb: number): number {
  return Math.max(16, Math.floor(functionMemoryMb / 2)) * 1024 * 1024;
}

/**
 * The replicator's SQS FIFO handler. Records are processed one at a time in queue order with
 * partial batch responses: a failed record fails only itself and the later records of its own
 * message group (the same object key), never another group's.
 */
export function createReplicatorHandler(
  settings: ReplicatorSettings, clients: SourceClients, telemetry: Telemetry, runtime: CopyRuntime, clock?: () => number,
) {
  const { logger, metrics } = telemetry;
  const now = runtime.now ?? Date.now;
  const replicate = createReplicator({
    sourceBucket: settings.sourceBucket,
    destinationBucket: settings.destinationBucket,
    source: clients.s3,
    table: new VersionTable(clients.dynamodb, settings.tableName),
    checkpoints: new UploadCheckpoints(clients.dynamodb, settings.tableName, now),
    memoryBudget: runtime.memoryBudget,
    continueLater: async (message) => {
      await clients.sqs.send(new SendMessageCommand({
        QueueUrl: settings.queueUrl,
        MessageBody: JSON.stringify(message),
        MessageGroupId: messageGroupId(message.bucket, message.key),
        MessageDeduplicationId: messageDeduplicationId(message),
      }));
    },
    destination: destinationClientsFor(settings, clients.secretsManager, clock),
    options: {
      prefixes: settings.prefixes,
      replicateDeleteMarkers: settings.replicateDeleteMarkers,
      replicateVersionDeletes: settings.replicateVersionDeletes,
      replicateTags: settings.replicateTags,
      kmsKeyArn: settings.destinationKmsKeyArn,
      storageClass: settings.destinationStorageClass,
    },
  });
  const backfillRuns = new BackfillRuns(clients.dynamodb, settings.tableName);

  const processRecord = async (record: SQSRecord, context?: Context) => {
    let message: ReplicationMessage | undefined;
    try {
      message = parseReplicationMessage(record.body);
      const outcome = await replicate(message, deliveryLimits(record, context));
      const forRun = message.backfillRun ? backfillOutcome(message, outcome) : undefined;
      if (message.backfillRun && forRun) {
        await backfillRuns.recordOutcome(message.backfillRun, forRun);
        if (forRun.outcome === 'replicated') metrics.addMetric('BackfillVersionsReplicated', MetricUnit.Count, 1);
      }
      const details = { key: message.key, versionId: message.versionId, kind: message.kind, outcome };
      if (outcome.action === 'skip' && outcome.reason === 'source-version-gone') {
        logger.warn('source version no longer exists; nothing to replicate', details);
      } else if (outcome.action === 'skip' && outcome.reason === 'archived') {
        logger.warn('source version is archived (GLACIER, DEEP_ARCHIVE or an Intelligent-Tiering archive tier); not replicated, as S3 Replication skips it', details);
      } else {
        logger.info('replication event processed', details);
      }
      for (const point of metricsForOutcome(outcome)) metrics.addMetric(point.name, point.unit, point.value);
      return outcome;
    } catch (error) {
      logger.error('replication failed; the message will be retried, then dead-lettered', {
        messageId: record.messageId,
        error: { name: (error as Error).name, message: (error as Error).message },
      });
      metrics.addMetric('ReplicationFailures', MetricUnit.Count, 1);
      if (message?.backfillRun) {
        await backfillRuns.recordOutcome(message.backfillRun, {
          key: message.key, versionId: message.versionId, outcome: 'failed', reason: `${(error as Error).name}: ${(error as Error).message}`,
        });
      }
      throw error;
    }
  };

  /** The time this delivery may take (the invocation's), and whether it is the message's last. */
  function deliveryLimits(record: SQSRecord, context?: Context): DeliveryLimits {
    const remaining = context?.getRemainingTimeInMillis();
    return {
      deadline: remaining === undefined ? undefined : now() + remaining,
      reserveMs: runtime.reserveMs ?? COPY_HANDOVER_RESERVE_SECONDS * 1000,
      now,
      finalAttempt: Number(record.attributes?.ApproximateReceiveCount ?? 1) >= settings.maxReceiveCount,
    };
  }

  return async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    try {
      // A processor per invocation: it holds the batch's state, so sharing one is not re-entrant.
      return await processPartialResponse(event, (record: SQSRecord) => processRecord(record, context), new SqsFifoPartialProcessorAsync(), {
        context,
        skipGroupOnError: true,
        throwOnFullBatchFailure: false,
      });
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

/** What one replicated message means for its backfill run's report; undefined while its copy continues. */
export function backfillOutcome(message: ReplicationMessage, outcome: Outcome): OutcomeRecord | undefined {
  if (outcome.action === 'copy-continued') return undefined;
  const base = { key: message.key, versionId: message.versionId };
  if (outcome.action === 'copy' || outcome.action === 'create-delete-marker') return { ...base, outcome: 'replicated', bytes: outcome.bytes };
  if (outcome.action === 'skip' && outcome.reason === 'duplicate') return { ...base, outcome: 'already-present' };
  if (outcome.action === 'skip') return { ...base, outcome: 'skipped', reason: outcome.reason };
  return { ...base, outcome: 'replicated' };
}

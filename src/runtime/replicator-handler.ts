import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { BackfillRuns, OutcomeRecord } from './backfill-runs';
import { destinationClientsFor } from './destination-client';
import { ReplicatorSettings } from './replication-environment';
import { parseReplicationMessage, ReplicationMessage } from './replication-message';
import { createReplicator, Outcome } from './replicator';
import { metricsForOutcome, Telemetry } from './telemetry';
import { VersionTable } from './version-table';

export interface SourceClients {
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
  readonly secretsManager: SecretsManagerClient;
}

/**
 * The replicator's SQS FIFO handler. Records are processed one at a time in queue order with
 * partial batch responses: a failed record fails only itself and the later records of its own
 * message group (the same object key), never another group's.
 */
export function createReplicatorHandler(settings: ReplicatorSettings, clients: SourceClients, telemetry: Telemetry, clock?: () => number) {
  const { logger, metrics } = telemetry;
  const replicate = createReplicator({
    sourceBucket: settings.sourceBucket,
    destinationBucket: settings.destinationBucket,
    source: clients.s3,
    table: new VersionTable(clients.dynamodb, settings.tableName),
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

  const processRecord = async (record: SQSRecord) => {
    let message: ReplicationMessage | undefined;
    try {
      message = parseReplicationMessage(record.body);
      const outcome = await replicate(message);
      if (message.backfillRun) {
        const forRun = backfillOutcome(message, outcome);
        await backfillRuns.recordOutcome(message.backfillRun, forRun);
        if (forRun.outcome === 'replicated') metrics.addMetric('BackfillVersionsReplicated', MetricUnit.Count, 1);
      }
      const details = { key: message.key, versionId: message.versionId, kind: message.kind, outcome };
      if (outcome.action === 'skip' && outcome.reason === 'source-version-gone') {
        logger.warn('source version no longer exists; nothing to replicate', details);
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

  return async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    try {
      // A processor per invocation: it holds the batch's state, so sharing one is not re-entrant.
      return await processPartialResponse(event, processRecord, new SqsFifoPartialProcessorAsync(), {
        context,
        skipGroupOnError: true,
        throwOnFullBatchFailure: false,
      });
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

/** What one replicated message means for its backfill run's report. */
export function backfillOutcome(message: ReplicationMessage, outcome: Outcome): OutcomeRecord {
  const base = { key: message.key, versionId: message.versionId };
  if (outcome.action === 'copy' || outcome.action === 'create-delete-marker') return { ...base, outcome: 'replicated', bytes: outcome.bytes };
  if (outcome.action === 'skip' && outcome.reason === 'duplicate') return { ...base, outcome: 'already-present' };
  if (outcome.action === 'skip') return { ...base, outcome: 'skipped', reason: outcome.reason };
  return { ...base, outcome: 'replicated' };
}

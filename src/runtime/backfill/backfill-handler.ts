import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { Backfill } from './backfill';
import { BACKFILL_MODES, BackfillMode } from './backfill-plan';
import { BackfillRunMovedOnError, BackfillRuns } from './backfill-runs';
import { BackfillFunctionSettings } from '../contract/replication-environment';
import { InvalidMessageError } from '../contract/replication-message';
import { addMetrics, Telemetry } from '../contract/telemetry';
import { destinationClientsFor } from '../destination/destination-client';
import { parseRedriveRequest, redriveDeadLetters, RedriveResult } from '../operations/dead-letter-redrive';
import { lookUpReplicationStatus, parseStatusRequest, ReplicationStatus } from '../operations/replication-status';
import { FailureRecords } from '../replication/key-state/failure-records';
import { VersionTable } from '../replication/key-state/version-table';

export interface BackfillHandlerOptions {
  /** Seconds between checks for the replicator's outcomes once the listing is done. */
  readonly pollDelaySeconds?: number;
  /** How long to wait for outcomes before reporting the missing ones as failed. */
  readonly outcomeWaitMs?: number;
  /** Versions per listing page (S3's maximum, 1,000, by default). */
  readonly pageSize?: number;
  readonly now?: () => number;
  /** Seconds a redrive's receive waits before taking a dead-letter queue as empty (default 1). */
  readonly redriveWaitSeconds?: number;
}

/** What a direct invocation returns: where the run's report will be. */
export interface BackfillStarted {
  readonly runId: string;
  readonly mode: BackfillMode;
  readonly report: string;
}

/** The operations the backfill function answers besides runs. */
export type OperationAnswer = ({ readonly mode: 'status' } & ReplicationStatus) | ({ readonly mode: 'redrive' } & RedriveResult);

/**
 * The backfill function. Invoked directly with `{"mode": "status", "key": ..., "versionId"?: ...}`
 * it answers where that source version stands (see `replication-status.ts`); with
 * `{"mode": "redrive", "queue"?: ...}` it moves the dead-letter queues' messages back (see
 * `dead-letter-redrive.ts`). With `{"mode": "all-versions" | "current-versions" | "reconcile"}` or
 * `{"mode": "inventory", "manifest": "s3://.../manifest.json"}` (the
 * deployment trigger sends nothing and gets the configured default), it starts a run. Each run then drives itself through the backfill queue: every message continues
 * the run from its checkpoint until the invocation's time runs low, then queues the next step. A
 * crash leaves the message on the queue, so the run resumes from the last checkpoint.
 */
export function createBackfillHandler(
  settings: BackfillFunctionSettings,
  clients: { readonly s3: S3Client; readonly sqs: SQSClient; readonly dynamodb: DynamoDBClient; readonly secretsManager: SecretsManagerClient },
  telemetry: Telemetry,
  options: BackfillHandlerOptions = {},
) {
  const { logger, metrics } = telemetry;
  const backfill = new Backfill({
    sourceBucket: settings.sourceBucket,
    scope: settings.scope,
    replicationQueueUrl: settings.queueUrl,
    reportBucket: settings.reportBucket,
    reportPrefix: settings.reportPrefix,
    outcomeWaitMs: options.outcomeWaitMs ?? 6 * 60 * 60 * 1000,
    pageSize: options.pageSize,
    backfillQueueUrl: settings.backfillQueueUrl,
  }, {
    ...clients,
    // Only a reconcile run reads the secret and lists the destination.
    destination: { clients: destinationClientsFor(settings, clients.secretsManager), bucket: settings.destinationBucket },
  }, new BackfillRuns(clients.dynamodb, settings.tableName), options.now);
  const failures = new FailureRecords(clients.dynamodb, settings.tableName, options.now);
  const versions = new VersionTable(clients.dynamodb, settings.tableName);
  const defaultMode = BACKFILL_MODES.includes(settings.backfillMode as BackfillMode) ? settings.backfillMode as BackfillMode : 'all-versions';

  const next = (runId: string, delaySeconds: number, part?: number) => clients.sqs.send(new SendMessageCommand({
    QueueUrl: settings.backfillQueueUrl,
    MessageBody: JSON.stringify(part === undefined ? { runId } : { runId, part }),
    DelaySeconds: delaySeconds,
  }));

  const status = async (request: Record<string, unknown>): Promise<OperationAnswer> => {
    const answer = await lookUpReplicationStatus(
      { s3: clients.s3, sourceBucket: settings.sourceBucket, scope: settings.scope, versions, failures, now: options.now },
      parseStatusRequest(request),
    );
    logger.info('replication status', { ...answer });
    return { mode: 'status', ...answer };
  };

  const redrive = async (request: Record<string, unknown>, remaining: () => number): Promise<OperationAnswer> => {
    const queues = parseRedriveRequest(request);
    const { deadLetterQueueUrl, routerDeadLetterQueueUrl } = settings;
    if (!deadLetterQueueUrl || !routerDeadLetterQueueUrl) {
      throw new Error('this function\'s environment names no dead-letter queues (it predates the redrive mode): deploy the construct again');
    }
    let redriven = 0;
    try {
      const result = await redriveDeadLetters({
        sqs: clients.sqs,
        deadLetterQueueUrl,
        routerDeadLetterQueueUrl,
        router: { sourceBucket: settings.sourceBucket, scope: settings.scope, queueUrl: settings.queueUrl },
        backfillQueueUrl: settings.backfillQueueUrl,
        failures,
        waitTimeSeconds: options.redriveWaitSeconds,
      }, queues, remaining, (count) => { redriven += count; });
      logger.info('dead letters redriven', { ...result });
      return { mode: 'redrive', ...result };
    } finally {
      // Also when it failed half-way: what was moved is counted.
      addMetrics(telemetry, { name: 'DeadLettersRedriven', unit: 'Count', value: redriven });
    }
  };

  return async (event: unknown, context?: { getRemainingTimeInMillis(): number }): Promise<BackfillStarted | OperationAnswer | void> => {
    const remaining = () => context?.getRemainingTimeInMillis() ?? 15 * 60 * 1000;
    try {
      if (isSqsEvent(event)) {
        for (const record of event.Records) {
          // `part`: one file of an inventory run.
          const { runId, part } = JSON.parse(record.body) as { runId: string; part?: number };
          const { result, counts, listed, enqueued, outcomes } = await backfill.step(runId, remaining, part);
          addMetrics(telemetry, { name: 'BackfillVersionsListed', unit: 'Count', value: listed }, { name: 'BackfillVersionsEnqueued', unit: 'Count', value: enqueued });
          if (outcomes) {
            // Once, when the report is written: failures are final only then (the replicator retries).
            addMetrics(telemetry,
              { name: 'BackfillVersionsFailed', unit: 'Count', value: outcomes.failed ?? 0 },
              { name: 'BackfillExtraObjectsOnDestination', unit: 'Count', value: outcomes['extra-on-destination'] ?? 0 });
            logger.info('backfill finished', { runId, outcomes });
          }
          logger.info('backfill step', { runId, ...(part === undefined ? {} : { part }), result, counts });
          if (result !== 'done') await next(runId, result === 'wait' ? options.pollDelaySeconds ?? 30 : 0, part);
        }
        return;
      }
      // The deployment trigger's invocation carries no mode: the configured default run.
      const request = typeof event === 'object' && event !== null ? event as Record<string, unknown> : {};
      if (request.mode === 'status') return await status(request);
      if (request.mode === 'redrive') return await redrive(request, remaining);
      if (request.mode !== undefined && !BACKFILL_MODES.includes(request.mode as BackfillMode)) {
        throw new InvalidMessageError(`backfill mode ${JSON.stringify(request.mode)} is not one of ${[...BACKFILL_MODES, 'status', 'redrive'].join(', ')}`);
      }
      const run = await backfill.start(request, defaultMode);
      await next(run.runId, 0);
      logger.info('backfill started', { runId: run.runId, mode: run.mode });
      return { runId: run.runId, mode: run.mode, report: `s3://${settings.reportBucket}/${settings.reportPrefix}${run.runId}/` };
    } catch (error) {
      if (error instanceof BackfillRunMovedOnError) {
        logger.warn('another invocation continues this backfill run', { error: error.message });
        return;
      }
      logger.error('backfill failed', { error: { name: (error as Error).name, message: (error as Error).message } });
      throw error;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

function isSqsEvent(event: unknown): event is SQSEvent {
  return typeof event === 'object' && event !== null && Array.isArray((event as SQSEvent).Records);
}

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { batchConcurrency, forEachBounded, groupsOf } from './batch-plan';
import {
  attemptNumber,
  DeliverySkips,
  exhaustedBeforeAttempt,
  FailureDecision,
  failureDecision,
  retryDelaySeconds,
  secretWaitSeconds,
} from './delivery-retry';
import { metricsForOutcome, replicationLatency } from './outcomes/outcome-metrics';
import { deliveredOutcome, ResolvedCounts, RunReports } from './outcomes/run-reports';
import { createReplicator, DeliveryLimits } from './replicator';
import { COPY_HANDOVER_RESERVE_SECONDS, ReplicatorSettings } from '../contract/replication-environment';
import { messageDeduplicationId, messageGroupId, parseReplicationMessage, ReplicationMessage } from '../contract/replication-message';
import { addMetrics, Telemetry } from '../contract/telemetry';
import { destinationClientsFor, DestinationRetryStrategy } from '../destination/destination-client';
import { FailureRecords } from './key-state/failure-records';
import { VersionTable } from './key-state/version-table';
import { UploadCheckpoints } from '../engine/multipart/upload-checkpoints';

export interface SourceClients {
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
  readonly secretsManager: SecretsManagerClient;
  readonly sqs: SQSClient;
}

/** How the handler runs copies: memory for part buffers, and the clock. */
export interface CopyRuntime {
  /**
   * Bytes of part buffers the invocation's copies may hold together (see `copyMemoryBudget`): the
   * keys copied at once share it, each getting budget / keys (see `batchConcurrency`).
   */
  readonly memoryBudget: number;
  /** Milliseconds since the epoch; tests move it. */
  readonly now?: () => number;
  /** Time kept back at the end of an invocation for recording and requeueing a large copy. */
  readonly reserveMs?: number;
  /**
   * How retries in place wait. Code only, never read from the environment: the Lambda entry point
   * leaves it unset, and tests set it to keep every retry but not its wait.
   * @default destination clients' `DestinationRetryStrategy`, and PART_RETRY_BACKOFF_MS between a part's attempts
   */
  readonly retryPacing?: RetryPacing;
}

/** Waits between retries in place (see `CopyRuntime.retryPacing`). */
export interface RetryPacing {
  /** Milliseconds a part's request waits before its next attempt, times the attempts made. */
  readonly partBackoffMs: number;
  /** Makes each destination client's SDK retry strategy. */
  readonly destinationRetryStrategy: DestinationRetryStrategy;
}

/** Half the function's memory for part buffers, the rest for the runtime: at least two 8 MiB parts. */
export function copyMemoryBudget(functionMemoryMb: number): number {
  return Math.max(16, Math.floor(functionMemoryMb / 2)) * 1024 * 1024;
}

/**
 * The replicator's SQS FIFO handler. The batch's message groups (one per object key) are replicated
 * concurrently, at most `batchConcurrency(runtime.memoryBudget).groups` at once, each group's
 * records one at a time in queue order, with partial batch responses: a failed record fails only
 * itself and the later records of its own message group, never another group's. A failed record
 * comes back after a short backoff (see `delivery-retry`); a permanent error, or the last allowed
 * attempt, sends it to the dead-letter queue and the key's later records go on.
 */
export function createReplicatorHandler(
  settings: ReplicatorSettings, clients: SourceClients, telemetry: Telemetry, runtime: CopyRuntime, reports: RunReports, clock?: () => number,
) {
  const { logger, metrics } = telemetry;
  const now = runtime.now ?? Date.now;
  // Concurrent copies share the function's part-buffer budget: each gets budget / groups, and groups
  // is bounded so that share still holds the engine's two smallest parts (see `batchConcurrency`).
  const concurrency = batchConcurrency(runtime.memoryBudget);
  const destination = destinationClientsFor(settings, clients.secretsManager, clock, runtime.retryPacing?.destinationRetryStrategy);
  const replicate = createReplicator({
    sourceBucket: settings.sourceBucket,
    destinationBucket: settings.destinationBucket,
    source: clients.s3,
    table: new VersionTable(clients.dynamodb, settings.tableName),
    checkpoints: new UploadCheckpoints(clients.dynamodb, settings.tableName, now),
    memoryBudget: concurrency.copyMemoryBudget,
    enqueue: async (message) => {
      await clients.sqs.send(new SendMessageCommand({
        QueueUrl: settings.queueUrl,
        MessageBody: JSON.stringify(message),
        MessageGroupId: messageGroupId(message.bucket, message.key),
        MessageDeduplicationId: messageDeduplicationId(message),
      }));
    },
    destination,
    options: {
      scope: settings.scope,
      replicateDeleteMarkers: settings.replicateDeleteMarkers,
      replicateVersionDeletes: settings.replicateVersionDeletes,
      replicateTags: settings.replicateTags,
      kmsKeyArn: settings.destinationKmsKeyArn,
      storageClass: settings.destinationStorageClass,
      bucketKeyEnabled: settings.destinationBucketKeyEnabled,
      partition: settings.destinationPartition,
      onStorageClassReplaced: (sourceClass, replicaClass) => logger.warn(
        `the destination partition ${settings.destinationPartition} offers no storage class ${sourceClass}; the replica is ${replicaClass}`,
        { sourceClass, replicaClass }),
      replicateObjectLock: settings.replicateObjectLock,
    },
  });
  const skips = new DeliverySkips(clients.dynamodb, settings.tableName, now);
  const failures = new FailureRecords(clients.dynamodb, settings.tableName, now);

  /** One attempt at a message: throws when it failed. A backfill version's first outcome is added to `resolved`. */
  const processRecord = async (record: SQSRecord, finalAttempt: boolean, resolved: ResolvedCounts, context?: Context) => {
    let message: ReplicationMessage | undefined;
    try {
      message = parseReplicationMessage(record.body);
      const outcome = await replicate(message, deliveryLimits(finalAttempt, context));
      // Read once the replica is committed (replicate returns after the version map records it).
      // None for a backfill's message: its `time` is the listing's, not an S3 event's.
      const latency = replicationLatency(message, outcome, now());
      const forRun = message.backfillRun ? deliveredOutcome(message, outcome) : undefined;
      if (message.backfillRun && forRun) {
        if (await reports.recordOutcome(message.backfillRun, forRun)) resolved.add(message.backfillRun);
        if (forRun.outcome === 'replicated') addMetrics(telemetry, { name: 'BackfillVersionsReplicated', unit: 'Count', value: 1 });
      }
      const details = { key: message.key, versionId: message.versionId, kind: message.kind, outcome };
      if (outcome.action === 'skip' && outcome.reason === 'source-version-gone') {
        logger.warn('source version no longer exists; nothing to replicate', details);
      } else if (outcome.action === 'skip' && outcome.reason === 'archived') {
        logger.warn('source version is archived (GLACIER, DEEP_ARCHIVE or an Intelligent-Tiering archive tier); not replicated, as S3 Replication skips it', details);
      } else if (outcome.action === 'skip' && outcome.reason === 'tag-filter') {
        logger.info('source version\'s tags do not include every pair of tagFilter; not replicated', details);
      } else if (outcome.action === 'skip' && outcome.reason === 'sse-c') {
        logger.warn('source version is encrypted with a customer-provided key (SSE-C), which the replicator does not have; not replicated', details);
      } else {
        logger.info('replication event processed', details);
      }
      addMetrics(telemetry, ...metricsForOutcome(outcome), ...(latency ? [latency] : []));
      return outcome;
    } catch (error) {
      addMetrics(telemetry, { name: 'ReplicationFailures', unit: 'Count', value: 1 });
      const run = message?.backfillRun;
      if (run) {
        const first = await reports.recordOutcome(run, {
          key: message!.key, versionId: message!.versionId, outcome: 'failed', reason: `${(error as Error).name}: ${(error as Error).message}`,
        }).catch(() => false);
        if (first) resolved.add(run);
      }
      throw error;
    }
  };

  /** The time this delivery may take (the invocation's), and whether it is the message's last. */
  function deliveryLimits(finalAttempt: boolean, context?: Context): DeliveryLimits {
    const remaining = context?.getRemainingTimeInMillis();
    return {
      deadline: remaining === undefined ? undefined : now() + remaining,
      reserveMs: runtime.reserveMs ?? COPY_HANDOVER_RESERVE_SECONDS * 1000,
      now,
      finalAttempt,
      partRetryBackoffMs: runtime.retryPacing?.partBackoffMs,
    };
  }

  /** The message's attempt number: its receives, less those on which it was skipped. */
  async function attemptOf(record: SQSRecord): Promise<number> {
    const receiveCount = receiveCountOf(record);
    // Received once: nothing can have been skipped. Otherwise ask the table; if it cannot answer,
    // count every receive (at worst a message behind a failure is dead-lettered early, never lost).
    if (receiveCount <= 1) return 1;
    const skipped = await skips.count(record.messageId).catch((error) => {
      logger.warn('could not read the skipped receives of a message; counting every receive as an attempt', {
        messageId: record.messageId, error: errorDetails(error),
      });
      return 0;
    });
    return attemptNumber(receiveCount, skipped);
  }

  /**
   * Records why the message's version failed, for the backfill function's `status` answer. Best
   * effort: a body that is not a replication message has no key to record it under, and a failed
   * write only warns (the dead-letter queue keeps the reason too).
   */
  async function recordFailure(record: SQSRecord, attempt: number, reason: string): Promise<void> {
    let message: ReplicationMessage;
    try {
      message = parseReplicationMessage(record.body);
    } catch {
      return;
    }
    await failures.record(message.key, message.versionId, { reason, messageId: record.messageId, attempts: attempt }).catch((error) => {
      logger.warn('could not record why the message failed; its status will not say so', {
        messageId: record.messageId, key: message.key, versionId: message.versionId, error: errorDetails(error),
      });
    });
  }

  /** Sends the message to the FIFO dead-letter queue in its own message group, with why. */
  async function deadLetter(record: SQSRecord, attempt: number, reason: string): Promise<void> {
    await recordFailure(record, attempt, reason);
    await clients.sqs.send(new SendMessageCommand({
      QueueUrl: settings.deadLetterQueueUrl,
      MessageBody: record.body,
      MessageGroupId: record.attributes?.MessageGroupId ?? 'unknown-group',
      // A crash after this send and before the acknowledgement sends it again: SQS drops the copy.
      MessageDeduplicationId: record.messageId,
      MessageAttributes: {
        FailureReason: { DataType: 'String', StringValue: reason.slice(0, 1024) },
        Attempts: { DataType: 'Number', StringValue: String(attempt) },
        SourceMessageId: { DataType: 'String', StringValue: record.messageId },
      },
    }));
    addMetrics(telemetry, { name: 'MessagesDeadLettered', unit: 'Count', value: 1 });
    logger.info('message sent to the dead-letter queue', { messageId: record.messageId, attempt, reason });
  }

  /**
   * One delivery of a message: attempted, and on failure either dead-lettered (then acknowledged)
   * or handed back to be retried after a delay. Returns the delay (and whether the receive is not
   * to count as an attempt), or undefined when it is done.
   */
  async function deliver(
    record: SQSRecord, resolved: ResolvedCounts, context?: Context,
  ): Promise<{ delaySeconds: number; skip?: boolean } | undefined> {
    const attempt = await attemptOf(record);
    const exhausted = exhaustedBeforeAttempt(attempt, settings.maxReceiveCount);
    let decision: FailureDecision;
    if (exhausted) {
      decision = { action: 'dead-letter', reason: exhausted };
      logger.error('replication attempts used up without a result; dead-lettering the message', {
        messageId: record.messageId, attempt, maxAttempts: settings.maxReceiveCount, error: { name: 'AttemptsExhausted', message: exhausted },
      });
    } else {
      try {
        await processRecord(record, attempt >= settings.maxReceiveCount, resolved, context);
        return undefined;
      } catch (error) {
        decision = failureDecision(error, attempt, settings.maxReceiveCount, receiveCountOf(record));
        logger.error(decision.action === 'dead-letter'
          ? 'replication failed; dead-lettering the message'
          : decision.throttled
            ? `replication throttled after the SDK's retries; retrying in ${decision.delaySeconds} s, not counted as an attempt`
            : `replication failed; retrying in ${decision.delaySeconds} s`, {
          messageId: record.messageId, attempt, maxAttempts: settings.maxReceiveCount, error: errorDetails(error),
        });
      }
    }
    if (decision.action === 'retry') return { delaySeconds: decision.delaySeconds, skip: decision.throttled };
    try {
      await deadLetter(record, attempt, decision.reason);
      return undefined;
    } catch (error) {
      // Not in the dead-letter queue, so it stays in the queue: nothing is acknowledged unless it is safe.
      logger.error('could not send the message to the dead-letter queue; it will be retried', {
        messageId: record.messageId, error: errorDetails(error),
      });
      return { delaySeconds: retryDelaySeconds(attempt) };
    }
  }

  /**
   * Records receives that are not to count as attempts (see `DeliverySkips`). One that cannot be
   * recorded counts: the queue keeps the message either way.
   */
  async function recordSkips(records: readonly SQSRecord[]): Promise<void> {
    await Promise.all(records.map((record) => skips.add(record.messageId).catch((error) => {
      logger.warn('could not record a skipped receive; it will count as an attempt', { messageId: record.messageId, error: errorDetails(error) });
    })));
  }

  /**
   * The credentials secret is still `{}`: no record is attempted (each would fail the same way).
   * One error line and one `CredentialsSecretNotFilled` point for the invocation, and every record
   * handed back to wait (`secretWaitSeconds`) without using up an attempt. Once the secret is
   * filled in, the next invocation replicates them: no redrive needed.
   */
  async function waitForSecret(records: readonly SQSRecord[], notFilled: Error): Promise<SQSBatchResponse> {
    const entries = records.map((record) => ({ record, delaySeconds: secretWaitSeconds(receiveCountOf(record)) }));
    const delays = entries.map(({ delaySeconds }) => delaySeconds);
    logger.error(`${notFilled.message}; ${records.length} message(s) wait for it, retried in ${Math.min(...delays)} s without using up their attempts`, {
      secretId: settings.credentialsSecretId,
      waitingMessages: records.length,
      retryInSeconds: { min: Math.min(...delays), max: Math.max(...delays) },
      error: { name: notFilled.name },
    });
    addMetrics(telemetry, { name: 'CredentialsSecretNotFilled', unit: 'Count', value: 1 });
    await recordSkips(records);
    await handBack(entries);
    return { batchItemFailures: records.map((record) => ({ itemIdentifier: record.messageId })) };
  }

  /**
   * Adds the invocation's first outcomes to their runs' counters, one write per run. Best effort: the
   * outcomes are recorded, and a counter left short is a stall the backfill's wait settles by
   * reading them (see `shouldReadOutcomes`).
   */
  async function addResolved(resolved: ResolvedCounts): Promise<void> {
    await Promise.all(resolved.take().map(([runId, count]) => reports.addResolved(runId, count).catch((error) => {
      logger.warn('could not add to the backfill run\'s resolved counter; its wait will read the outcomes instead', {
        runId, count, error: errorDetails(error),
      });
    })));
  }

  /** Makes handed-back messages visible again after their delays (instead of the queue's visibility timeout). */
  async function handBack(entries: { record: SQSRecord; delaySeconds: number }[]): Promise<void> {
    // One request per message, not ChangeMessageVisibilityBatch: failures stay per message, and
    // moto's IAM rejected the batch call under the synthesized policy, which AWS authorizes as
    // sqs:ChangeMessageVisibility (seen in the policy test).
    await Promise.all(entries.map(async ({ record, delaySeconds }) => {
      try {
        await clients.sqs.send(new ChangeMessageVisibilityCommand({
          QueueUrl: settings.queueUrl, ReceiptHandle: record.receiptHandle, VisibilityTimeout: delaySeconds,
        }));
      } catch (error) {
        logger.warn('the retry delay was not set; the message returns after the queue\'s visibility timeout', {
          messageId: record.messageId, error: errorDetails(error),
        });
      }
    }));
  }

  return async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    try {
      // Once per invocation, before any record: read only while it is unfilled (a filled one is cached).
      const notFilled = await destination.secretNotFilled();
      if (notFilled) return await waitForSecret(event.Records, notFilled);
      // The message groups side by side (at most `concurrency.groups` at once), each group's records
      // one at a time in queue order. After a failure, the later records of the same message group
      // (the same key) are handed back unattempted, so the key's order holds; other groups go on.
      const handedBack = new Map<SQSRecord, { delaySeconds: number; skip: boolean }>();
      const resolved = new ResolvedCounts();
      const groups = groupsOf(event.Records, (record) => record.attributes?.MessageGroupId ?? '');
      await forEachBounded(groups, concurrency.groups, async ({ records }) => {
        for (const [index, record] of records.entries()) {
          const retry = await deliver(record, resolved, context);
          if (retry === undefined) continue;
          // `skip`: a throttled delivery, handed back without using up an attempt.
          handedBack.set(record, { delaySeconds: retry.delaySeconds, skip: retry.skip === true });
          // Visible again at once: FIFO hands out none of the group while the failed message is in
          // flight (its delay), and then that one first.
          for (const behind of records.slice(index + 1)) handedBack.set(behind, { delaySeconds: 0, skip: true });
          return;
        }
      });
      await addResolved(resolved);
      // In queue order, as before concurrency.
      const failed = event.Records.filter((record) => handedBack.has(record))
        .map((record) => ({ record, delaySeconds: handedBack.get(record)!.delaySeconds }));
      const skipped = event.Records.filter((record) => handedBack.get(record)?.skip);
      // Skipped receives do not count as attempts.
      await recordSkips(skipped);
      await handBack(failed);
      return { batchItemFailures: failed.map(({ record }) => ({ itemIdentifier: record.messageId })) };
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

function receiveCountOf(record: SQSRecord): number {
  return Number(record.attributes?.ApproximateReceiveCount ?? 1);
}

function errorDetails(error: unknown) {
  return { name: (error as Error)?.name, message: (error as Error)?.message };
}

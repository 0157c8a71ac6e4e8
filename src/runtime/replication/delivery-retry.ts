import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { InvalidMessageError } from '../contract/replication-message';
import { CredentialsSecretError, CredentialsSecretNotFilledError } from '../destination/destination-credentials';
import { DestinationObjectLockMissingError, ReplicaObjectLockedError } from '../engine/object-lock';

/**
 * What the replicator does with a queue message whose delivery failed: decisions here, the queue
 * and table calls in the handler.
 *
 * The handler, not the queue's redrive policy, decides when a message is dead-lettered, because
 * SQS counts every receive, also those of messages that were never attempted: after a failure, the
 * later messages of the same key in the batch are handed back untouched (to keep the key's order),
 * and their receive counts rise all the same. So the handler counts attempts itself: a message's
 * receives minus the receives on which it was skipped that way (recorded in the table by message
 * id). A receive that ended in a crash or a function timeout counts as an attempt, since the
 * handler never saw its end. The queue's redrive policy stays as a backstop with a larger count
 * (`queueReceiveLimit` in the construct) for what the handler cannot see at all.
 */

/** The first retry of a failed message comes this many seconds after the failure. */
export const RETRY_BASE_SECONDS = 2;
/** Each further retry waits twice as long as the one before, up to this. */
export const RETRY_CAP_SECONDS = 30;

/** Seconds until a message that failed on its `attempt`th attempt is tried again: 2, 4, 8, 16, 30, 30, ... */
export function retryDelaySeconds(attempt: number): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 10));
  return Math.min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** exponent);
}

/**
 * The message's attempts, this one included: its receives minus those on which it was skipped
 * behind an earlier failed message of its key. Never less than 1: skips recorded for a message
 * whose receive count was reset (a redrive that kept its id) then give it more attempts, not fewer.
 */
export function attemptNumber(receiveCount: number, skippedReceives: number): number {
  return Math.max(1, receiveCount - skippedReceives);
}

/**
 * Errors that no retry can cure: a message that is not a replication message, a credentials
 * secret that is not valid JSON or misses a field (it stays wrong until an operator fixes it, and
 * then redrives the dead-lettered messages), a destination bucket without Object Lock for locked
 * replicas, and a version delete refused by a replica's Object Lock (it lasts until the retention
 * ends or the legal hold is lifted). A secret still `{}` is not one: it is waited for
 * (`secretWaitSeconds`), and the handler checks it before it attempts a batch.
 */
export function isPermanentError(error: unknown): boolean {
  if (error instanceof CredentialsSecretNotFilledError) return false;
  if (error instanceof InvalidMessageError || error instanceof CredentialsSecretError) return true;
  // Object Lock: a destination bucket without it, and a replica it protects (see engine/object-lock).
  if (error instanceof DestinationObjectLockMissingError || error instanceof ReplicaObjectLockedError) return true;
  const name = (error as { name?: unknown } | undefined)?.name;
  return name === 'InvalidMessageError' || name === 'CredentialsSecretError' ||
    name === 'DestinationObjectLockMissingError' || name === 'ReplicaObjectLockedError';
}

/**
 * Error codes that mean "slow down": the request was refused for its rate and not processed. The
 * SDK's own list (@smithy/core's THROTTLING_ERROR_CODES, which the standard retry strategy reads),
 * kept here so the runtime does not import the SDK's internals.
 */
const THROTTLING_ERROR_CODES = new Set([
  'BandwidthLimitExceeded', 'EC2ThrottledException', 'LimitExceededException', 'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException', 'RequestLimitExceeded', 'RequestThrottled', 'RequestThrottledException',
  'SlowDown', 'ThrottledException', 'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'TransactionInProgressException',
]);

/** A throttling answer (S3's 503 SlowDown, a 429, a throttling code), as the SDK classifies it. */
export function isThrottlingError(error: unknown): boolean {
  const candidate = error as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: { throttling?: boolean } } | undefined;
  if (!candidate) return false;
  return candidate.$metadata?.httpStatusCode === 429 || THROTTLING_ERROR_CODES.has(candidate.name ?? '') || candidate.$retryable?.throttling === true;
}

/** The first hand-back of a delivery that was still throttled after the SDK's retries waits this long. */
export const THROTTLED_RETRY_BASE_SECONDS = 30;
/** Each further one twice as long, up to this. */
export const THROTTLED_RETRY_CAP_SECONDS = 300;

/**
 * Seconds until a message whose delivery was still throttled (after the destination client's own
 * retries, see `destination-retry`) is tried again, by its receive count: 30, 60, 120, 240, 300, 300, ...
 * Longer than other failures' delays: a destination that says "slow down" is helped by waiting,
 * and not by a queue of messages coming back within seconds.
 */
export function throttledRetryDelaySeconds(receiveCount: number): number {
  const exponent = Math.max(0, Math.min(receiveCount - 1, 10));
  return Math.min(THROTTLED_RETRY_CAP_SECONDS, THROTTLED_RETRY_BASE_SECONDS * 2 ** exponent);
}

/** The first hand-back of a batch that waits for the credentials secret to be filled in waits this long. */
export const SECRET_WAIT_BASE_SECONDS = 60;
/** Each further one twice as long, up to this. */
export const SECRET_WAIT_CAP_SECONDS = 900;

/**
 * Seconds until a message that waits for the credentials secret (still `{}`) is tried again, by its
 * receive count: 60, 120, 240, 480, 900, 900, ... A secret filled in is seen at most 15 minutes
 * later; a message waits until the queue's backstop (`queueReceiveLimit`, 10 x maxReceiveCount
 * receives) moves it: with the default maxReceiveCount 5, 50 receives, about 11 h 45 min.
 */
export function secretWaitSeconds(receiveCount: number): number {
  const exponent = Math.max(0, Math.min(receiveCount - 1, 10));
  return Math.min(SECRET_WAIT_CAP_SECONDS, SECRET_WAIT_BASE_SECONDS * 2 ** exponent);
}

export type FailureDecision =
  | { readonly action: 'dead-letter'; readonly reason: string }
  /** `throttled`: the attempt does not count toward maxReceiveCount (the handler records it as a skip). */
  | { readonly action: 'retry'; readonly delaySeconds: number; readonly throttled?: true };

/**
 * What to do after the `attempt`th attempt of a message (received `receiveCount` times) failed
 * with `error`.
 *
 * A throttled delivery (the destination, or the source, still said "slow down" after the SDK's
 * retries) is handed back with `throttledRetryDelaySeconds` and does not count as an attempt:
 * throttling says the request was refused for its rate, not that anything is wrong with the
 * message, and a destination throttled for longer than maxReceiveCount short retries would
 * otherwise dead-letter a whole burst of healthy messages. The queue's backstop
 * (`queueReceiveLimit` receives) still bounds a message that is throttled for hours.
 */
export function failureDecision(error: unknown, attempt: number, maxAttempts: number, receiveCount = attempt): FailureDecision {
  const cause = `${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`;
  if (isPermanentError(error)) return { action: 'dead-letter', reason: `permanent error on attempt ${attempt}: ${cause}` };
  if (isThrottlingError(error)) return { action: 'retry', delaySeconds: throttledRetryDelaySeconds(receiveCount), throttled: true };
  if (attempt >= maxAttempts) return { action: 'dead-letter', reason: `failed ${attempt} attempts (maxReceiveCount ${maxAttempts}); last: ${cause}` };
  return { action: 'retry', delaySeconds: retryDelaySeconds(attempt) };
}

/**
 * Whether a message is dead-lettered before it is attempted: its attempts were used up on
 * receives whose end the handler never saw (function timeouts, crashes).
 */
export function exhaustedBeforeAttempt(attempt: number, maxAttempts: number): string | undefined {
  return attempt > maxAttempts
    ? `received for attempt ${attempt} but maxReceiveCount is ${maxAttempts}: the earlier attempts ended without a result (function timeouts or crashes)`
    : undefined;
}

/** How long a skip record outlives the queue's 14-day retention. */
const SKIP_RECORD_SECONDS = 15 * 24 * 3600;

/**
 * Per message id, the receives on which the handler skipped a message (handed it back without
 * attempting it): `pk` = `delivery#<message id>`, `sk` = `skips`, expiring after 15 days. Written
 * only when a message is skipped and read only when a message is received again, so a message
 * delivered once costs nothing here.
 */
export class DeliverySkips {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async count(messageId: string): Promise<number> {
    const { Item: item } = await this.client.send(new GetItemCommand({
      TableName: this.tableName, Key: key(messageId), ConsistentRead: true, ProjectionExpression: 'skips',
    }));
    return Number(item?.skips?.N ?? 0);
  }

  async add(messageId: string): Promise<void> {
    await this.client.send(new UpdateItemCommand({
      TableName: this.tableName,
      Key: key(messageId),
      UpdateExpression: 'ADD skips :one SET expiresAt = :expiresAt',
      ExpressionAttributeValues: {
        ':one': { N: '1' },
        ':expiresAt': { N: String(Math.floor(this.now() / 1000) + SKIP_RECORD_SECONDS) },
      },
    }));
  }
}

const key = (messageId: string) => ({ pk: { S: `delivery#${messageId}` }, sk: { S: 'skips' } });

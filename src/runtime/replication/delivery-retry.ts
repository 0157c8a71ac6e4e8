import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { InvalidMessageError } from '../contract/replication-message';
import { CredentialsSecretError } from '../destination/destination-credentials';

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
 * Errors that no retry can cure: a message that is not a replication message, and a credentials
 * secret that is not valid JSON or misses a field (it stays wrong until an operator fixes it, and
 * then redrives the dead-lettered messages).
 */
export function isPermanentError(error: unknown): boolean {
  if (error instanceof InvalidMessageError || error instanceof CredentialsSecretError) return true;
  const name = (error as { name?: unknown } | undefined)?.name;
  return name === 'InvalidMessageError' || name === 'CredentialsSecretError';
}

export type FailureDecision =
  | { readonly action: 'dead-letter'; readonly reason: string }
  | { readonly action: 'retry'; readonly delaySeconds: number };

/** What to do after the `attempt`th attempt of a message failed with `error`. */
export function failureDecision(error: unknown, attempt: number, maxAttempts: number): FailureDecision {
  const cause = `${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`;
  if (isPermanentError(error)) return { action: 'dead-letter', reason: `permanent error on attempt ${attempt}: ${cause}` };
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

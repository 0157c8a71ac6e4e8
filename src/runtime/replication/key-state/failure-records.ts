import { ConditionalCheckFailedException, DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { partitionKey } from './version-table';

/**
 * Why a source version is not replicated: the replicator dead-lettered its message. One item per
 * version beside the version map's (`pk` = `object#<key>`, `sk` = `failure#<version id>`), so a
 * status query can answer "failed, and why" without reading the dead-letter queue. It expires a
 * day after the dead-letter queue's 14-day retention; a redrive removes it, and a later replica
 * outranks it (the status reads both).
 */
export interface FailureRecord {
  readonly reason: string;
  /** When the message was dead-lettered (ISO 8601). */
  readonly failedAt: string;
  /** The replication message's id in the queue. */
  readonly messageId: string;
  readonly attempts: number;
}

const RETENTION_SECONDS = 15 * 24 * 3600;
const failureSortKey = (versionId: string) => `failure#${versionId}`;

export class FailureRecords {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records (or overwrites) the version's failure. */
  async record(key: string, versionId: string, failure: Omit<FailureRecord, 'failedAt'>): Promise<void> {
    await this.client.send(new PutItemCommand({
      TableName: this.tableName,
      Item: {
        pk: { S: partitionKey(key) },
        sk: { S: failureSortKey(versionId) },
        reason: { S: failure.reason.slice(0, 1024) },
        failedAt: { S: new Date(this.now()).toISOString() },
        messageId: { S: failure.messageId },
        attempts: { N: String(failure.attempts) },
        expiresAt: { N: String(Math.floor(this.now() / 1000) + RETENTION_SECONDS) },
      },
    }));
  }

  async read(key: string, versionId: string): Promise<FailureRecord | undefined> {
    const { Item: item } = await this.client.send(new GetItemCommand({
      TableName: this.tableName,
      Key: { pk: { S: partitionKey(key) }, sk: { S: failureSortKey(versionId) } },
      ConsistentRead: true,
    }));
    if (!item) return undefined;
    return {
      reason: item.reason?.S ?? '',
      failedAt: item.failedAt?.S ?? '',
      messageId: item.messageId?.S ?? '',
      attempts: Number(item.attempts?.N ?? 0),
    };
  }

  /**
   * Forgets the failure (its message was redriven). With `messageId`, only the failure of that
   * message: a failure the redriven message itself has recorded since stays.
   */
  async clear(key: string, versionId: string, only?: { readonly messageId: string }): Promise<void> {
    try {
      await this.client.send(new DeleteItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: partitionKey(key) }, sk: { S: failureSortKey(versionId) } },
        ...(only ? { ConditionExpression: 'messageId = :id', ExpressionAttributeValues: { ':id': { S: only.messageId } } } : {}),
      }));
    } catch (error) {
      if (!(only && error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}

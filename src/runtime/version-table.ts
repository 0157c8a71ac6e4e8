import {
  BatchGetItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  TransactWriteItemsCommand,
  TransactionCanceledException,
  ConditionalCheckFailedException,
  AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { KeyHead, ReplicationState, VersionRecord } from './replication-decision';

/**
 * The version map: one item per source version (source key and version -> destination version,
 * ETag, size, sequencer, time) and one `head` item per key holding the highest sequencer applied.
 *
 * Layout: partition key `pk` = `object#<source key>`, sort key `sk` = `head` or
 * `version#<source version id>`. The prefixes leave room for other item kinds in the same table.
 */
export interface ReplicaRecord extends VersionRecord {
  readonly sequencer?: string;
  readonly eTag?: string;
  readonly size?: number;
}

/** Another invocation changed the key's head since we read it; the message is retried. */
export class ConcurrentReplicationError extends Error {
  constructor(key: string) {
    super(`another replication of key "${key}" committed first; the message will be retried`);
    this.name = 'ConcurrentReplicationError';
  }
}

const HEAD = 'head';
const partitionKey = (key: string) => `object#${key}`;
const versionSortKey = (versionId: string) => `version#${versionId}`;

export class VersionTable {
  constructor(private readonly client: DynamoDBClient, private readonly tableName: string) {}

  /** The key's head and the version's record, read consistently in one request. */
  async load(key: string, versionId: string): Promise<ReplicationState> {
    const keys = [HEAD, versionSortKey(versionId)].map((sk) => ({ pk: { S: partitionKey(key) }, sk: { S: sk } }));
    const result = await this.client.send(new BatchGetItemCommand({
      RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } },
    }));
    if (result.UnprocessedKeys && Object.keys(result.UnprocessedKeys).length > 0) {
      throw new Error('DynamoDB did not return every requested item (throttled); the message will be retried');
    }
    const items = result.Responses?.[this.tableName] ?? [];
    const head = items.find((item) => item.sk?.S === HEAD);
    const version = items.find((item) => item.sk?.S !== HEAD);
    return {
      head: head ? toHead(head) : undefined,
      version: version ? toVersionRecord(version) : undefined,
    };
  }

  /**
   * Records a new replica and moves the key's head to it, atomically. The conditions make two
   * racing invocations unable to both win: the version must be new and the head must be the one the
   * decision was made on.
   */
  async commitReplica(key: string, record: ReplicaRecord, previousHead: KeyHead | undefined, backfill?: KeyHead['backfill']): Promise<void> {
    const now = new Date().toISOString();
    const head: Record<string, AttributeValue> = {
      pk: { S: partitionKey(key) },
      sk: { S: HEAD },
      sourceKey: { S: key },
      sourceVersionId: { S: record.sourceVersionId },
      updatedAt: { S: now },
    };
    if (record.sequencer) head.sequencer = { S: record.sequencer };
    if (backfill) head.backfill = { M: { run: { S: backfill.run }, index: { N: String(backfill.index) } } };
    await this.transact(key, [
      { Put: { TableName: this.tableName, Item: versionItem(key, record, now), ConditionExpression: 'attribute_not_exists(pk)' } },
      {
        Put: {
          TableName: this.tableName,
          Item: head,
          ConditionExpression: previousHead ? 'sourceVersionId = :previous' : 'attribute_not_exists(pk)',
          ExpressionAttributeValues: previousHead ? { ':previous': { S: previousHead.sourceVersionId } } : undefined,
        },
      },
    ]);
  }

  /** Records a new replica of an already mapped version (reconcile re-copied it), unless it changed meanwhile. */
  async replaceReplica(key: string, record: ReplicaRecord, previous: ReplicaRecord): Promise<void> {
    await this.transact(key, [{
      Put: {
        TableName: this.tableName,
        Item: versionItem(key, record, new Date().toISOString()),
        ConditionExpression: 'destinationVersionId = :previous',
        ExpressionAttributeValues: { ':previous': { S: previous.destinationVersionId ?? '' } },
      },
    }]);
  }

  private async transact(key: string, items: NonNullable<ConstructorParameters<typeof TransactWriteItemsCommand>[0]['TransactItems']>) {
    try {
      await this.client.send(new TransactWriteItemsCommand({ TransactItems: items }));
    } catch (error) {
      if (error instanceof TransactionCanceledException) throw new ConcurrentReplicationError(key);
      throw error;
    }
  }

  /** Marks a source version as gone (its replica deleted, or never to be made). */
  async markSourceDeleted(key: string, record: ReplicaRecord): Promise<void> {
    await this.client.send(new PutItemCommand({
      TableName: this.tableName,
      Item: versionItem(key, { ...record, state: 'deleted' }, new Date().toISOString()),
    }));
  }

  /** Remembers a version deleted before any event of it was processed, unless a record appeared. */
  async rememberSourceDeleted(key: string, versionId: string, sequencer: string | undefined): Promise<void> {
    try {
      await this.client.send(new PutItemCommand({
        TableName: this.tableName,
        Item: versionItem(key, { sourceVersionId: versionId, kind: 'object', state: 'deleted', sequencer }, new Date().toISOString()),
        ConditionExpression: 'attribute_not_exists(pk)',
      }));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new ConcurrentReplicationError(key);
      throw error;
    }
  }

  /** Drops a version's record (the source version expired by lifecycle). */
  async forgetVersion(key: string, versionId: string): Promise<void> {
    await this.client.send(new DeleteItemCommand({
      TableName: this.tableName,
      Key: { pk: { S: partitionKey(key) }, sk: { S: versionSortKey(versionId) } },
    }));
  }
}

function versionItem(key: string, record: ReplicaRecord, now: string): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    pk: { S: partitionKey(key) },
    sk: { S: versionSortKey(record.sourceVersionId) },
    sourceKey: { S: key },
    sourceVersionId: { S: record.sourceVersionId },
    kind: { S: record.kind },
    state: { S: record.state },
    recordedAt: { S: now },
  };
  if (record.destinationVersionId) item.destinationVersionId = { S: record.destinationVersionId };
  if (record.sequencer) item.sequencer = { S: record.sequencer };
  if (record.eTag) item.eTag = { S: record.eTag };
  if (record.size !== undefined) item.size = { N: String(record.size) };
  return item;
}

function toHead(item: Record<string, AttributeValue>): KeyHead {
  const backfill = item.backfill?.M;
  return {
    sequencer: item.sequencer?.S,
    sourceVersionId: item.sourceVersionId?.S ?? '',
    backfill: backfill?.run?.S && backfill.index?.N ? { run: backfill.run.S, index: Number(backfill.index.N) } : undefined,
  };
}

function toVersionRecord(item: Record<string, AttributeValue>): ReplicaRecord {
  return {
    sourceVersionId: item.sourceVersionId?.S ?? '',
    kind: item.kind?.S === 'deleteMarker' ? 'deleteMarker' : 'object',
    state: item.state?.S === 'deleted' ? 'deleted' : 'replicated',
    destinationVersionId: item.destinationVersionId?.S,
    sequencer: item.sequencer?.S,
    eTag: item.eTag?.S,
    size: item.size?.N === undefined ? undefined : Number(item.size.N),
  };
}

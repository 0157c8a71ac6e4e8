import {
  BatchGetItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  ConditionalCheckFailedException,
  AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { KeyHead, ReplicationState, VersionRecord } from './replication-decision';

/**
 * The version map: per key, one `head` item holding the newest version applied (its sequencer and
 * its whole replica record), and one item per older source version (source key and version ->
 * destination version, ETag, size, sequencer, time). A version's own item is written when the head
 * moves past it, so replicating a new key is one table write; a version's record is its own item
 * when there is one, else the head's when the head is that version.
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

/** How a replica is committed. */
export interface CommitOptions {
  /** When a backfill applied the version: its run and listing position. */
  readonly backfill?: KeyHead['backfill'];
  /** A repair: the version's item is replaced if it still records this destination version. */
  readonly replacesReplica?: string;
}

export const HEAD = 'head';
export const partitionKey = (key: string) => `object#${key}`;
export const versionSortKey = (versionId: string) => `version#${versionId}`;

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
    return { head: head ? toHead(head) : undefined, version: versionRecordOf(items, versionId) };
  }

  /**
   * Records a new replica by moving the key's head to it, conditionally on being the head the
   * decision was made on (so two racing invocations cannot both win, and nothing older follows).
   * The version the head leaves gets its own item first (unless it has one), so no record is ever
   * only in a head that moved on; a crash between the two writes leaves that item and the old head,
   * both true. A new key costs one write, an overwrite two; no transaction, which would double the
   * write cost and make stores that emulate transactions do table-wide work.
   */
  async commitReplica(key: string, record: ReplicaRecord, previousHead: KeyHead | undefined, options: CommitOptions = {}): Promise<void> {
    const { backfill, replacesReplica } = options;
    const now = new Date().toISOString();
    if (previousHead && previousHead.sourceVersionId !== record.sourceVersionId) await this.recordVersion(key, previousHead);
    // A repaired version may also have its own item (written when the head moved past it, or by an
    // earlier release): it must not keep the stale replica. First, so that a crash before the head
    // write leaves a record a redelivered repair recognises as done.
    if (replacesReplica !== undefined) await this.recordVersion(key, record, replacesReplica);
    const head: Record<string, AttributeValue> = {
      ...versionItem(key, record, now),
      sk: { S: HEAD },
    };
    if (backfill) head.backfill = { M: { run: { S: backfill.run }, index: { N: String(backfill.index) } } };
    await this.putConditionally(key, head, previousHead
      ? { ConditionExpression: 'sourceVersionId = :previous', ExpressionAttributeValues: { ':previous': { S: previousHead.sourceVersionId } } }
      : { ConditionExpression: 'attribute_not_exists(pk)' });
  }

  /**
   * Writes a version's item unless it exists; with `replacesReplica`, over the item that still
   * records that replica (a repair).
   */
  private async recordVersion(key: string, record: ReplicaRecord, replacesReplica?: string): Promise<void> {
    try {
      await this.client.send(new PutItemCommand({
        TableName: this.tableName,
        Item: versionItem(key, record, new Date().toISOString()),
        ...(replacesReplica === undefined
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : { ConditionExpression: 'destinationVersionId = :stale', ExpressionAttributeValues: { ':stale': { S: replacesReplica } } }),
      }));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  private async putConditionally(
    key: string,
    item: Record<string, AttributeValue>,
    condition: { ConditionExpression: string; ExpressionAttributeValues?: Record<string, AttributeValue> },
  ): Promise<void> {
    try {
      await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item, ...condition }));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new ConcurrentReplicationError(key);
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
    ...toVersionRecord(item),
    backfill: backfill?.run?.S && backfill.index?.N ? { run: backfill.run.S, index: Number(backfill.index.N) } : undefined,
  };
}

/**
 * The record of `versionId` among a key's items: its own item, else the head's record when the
 * head is that version (also used by the backfill's batch reads).
 */
export function versionRecordOf(items: ReadonlyArray<Record<string, AttributeValue>>, versionId: string): ReplicaRecord | undefined {
  const own = items.find((item) => item.sk?.S === versionSortKey(versionId));
  if (own) return toVersionRecord(own);
  const head = items.find((item) => item.sk?.S === HEAD && item.sourceVersionId?.S === versionId);
  return head ? toVersionRecord(head) : undefined;
}

/** A version item as a record. */
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

import {
  BatchGetItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  ConditionalCheckFailedException,
  AttributeValue,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { KeyClaim, parseIntent, serializeIntent } from './replica-claim';
import type { ReplicaLock } from '../../engine/object-lock';
import { KeyHead, ReplicationState, VersionRecord } from '../replication-decision';

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
  /** The key's claim the replica was written under: the commit succeeds only while it is still held. */
  readonly claimToken?: string;
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
    return {
      // A key's first claim creates its head item before any replica is recorded in it.
      head: head?.sourceVersionId?.S ? toHead(head) : undefined,
      version: versionRecordOf(items, versionId),
      claim: head ? claimOf(head) : undefined,
    };
  }

  /**
   * Claims the key for writing the intent's replica (see `replica-claim.ts`): conditional on the
   * head and the claim the decision was made on, so of two racing deliveries one wins, and the other
   * retries with a ConcurrentReplicationError. The item's other attributes are kept.
   */
  async claim(key: string, claim: KeyClaim, seen: Pick<ReplicationState, 'head' | 'claim'>): Promise<void> {
    const values: Record<string, AttributeValue> = {
      ':token': { S: claim.token },
      ':expires': { N: String(claim.expiresAt) },
      ':at': { N: String(claim.claimedAt) },
      ':intent': { S: serializeIntent(claim.intent) },
    };
    const conditions = [seen.head ? 'sourceVersionId = :previous' : 'attribute_not_exists(sourceVersionId)'];
    if (seen.head) values[':previous'] = { S: seen.head.sourceVersionId };
    // The SDK's retry of a claim whose response was lost finds its own token.
    if (seen.claim) {
      conditions.push('(claimToken = :seen OR claimToken = :token)');
      values[':seen'] = { S: seen.claim.token };
    } else {
      conditions.push('(attribute_not_exists(claimToken) OR claimToken = :token)');
    }
    try {
      await this.client.send(new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: partitionKey(key) }, sk: { S: HEAD } },
        UpdateExpression: 'SET claimToken = :token, claimExpiresAt = :expires, claimedAt = :at, claimIntent = :intent',
        ConditionExpression: conditions.join(' AND '),
        ExpressionAttributeValues: values,
      }));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new ConcurrentReplicationError(key);
      throw error;
    }
  }

  /**
   * Ends a claim that wrote nothing: removed, or with `mayHaveWritten` kept but expired, so the next
   * delivery looks for an unrecorded replica at once instead of waiting for the lease. A claim that
   * is no longer this token's is left alone.
   */
  async releaseClaim(key: string, token: string, { mayHaveWritten }: { mayHaveWritten: boolean }): Promise<void> {
    try {
      await this.client.send(new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: partitionKey(key) }, sk: { S: HEAD } },
        UpdateExpression: mayHaveWritten ? 'SET claimExpiresAt = :zero' : 'REMOVE claimToken, claimExpiresAt, claimedAt, claimIntent',
        ConditionExpression: 'claimToken = :token',
        ExpressionAttributeValues: { ':token': { S: token }, ...(mayHaveWritten ? { ':zero': { N: '0' } } : {}) },
      }));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
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
    const { backfill, replacesReplica, claimToken } = options;
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
    // The new head replaces the whole item, so the claim it was written under ends with it.
    const values: Record<string, AttributeValue> = {};
    const conditions = [previousHead ? 'sourceVersionId = :previous' : 'attribute_not_exists(sourceVersionId)'];
    if (previousHead) values[':previous'] = { S: previousHead.sourceVersionId };
    if (claimToken !== undefined) {
      conditions.push('claimToken = :token');
      values[':token'] = { S: claimToken };
    } else {
      conditions.push('attribute_not_exists(claimToken)');
    }
    await this.putConditionally(key, head, { ConditionExpression: conditions.join(' AND '), ExpressionAttributeValues: values });
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
    condition: { ConditionExpression: string; ExpressionAttributeValues: Record<string, AttributeValue> },
  ): Promise<void> {
    const values = Object.keys(condition.ExpressionAttributeValues).length > 0 ? condition.ExpressionAttributeValues : undefined;
    try {
      await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item, ...condition, ExpressionAttributeValues: values }));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new ConcurrentReplicationError(key);
      throw error;
    }
  }

  /** Marks a source version as gone (its replica deleted, or never to be made). */
  async markSourceDeleted(key: string, record: ReplicaRecord): Promise<void> {
    await this.client.send(new PutItemCommand({
      TableName: this.tableName,
      Item: versionItem(key, { ...record, state: 'deleted', recordedAt: undefined }, new Date().toISOString()),
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

/** A version's item; `now` is its record time unless the record keeps its own (a head moving on). */
function versionItem(key: string, record: ReplicaRecord, now: string): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    pk: { S: partitionKey(key) },
    sk: { S: versionSortKey(record.sourceVersionId) },
    sourceKey: { S: key },
    sourceVersionId: { S: record.sourceVersionId },
    kind: { S: record.kind },
    state: { S: record.state },
    recordedAt: { S: record.recordedAt ?? now },
  };
  if (record.destinationVersionId) item.destinationVersionId = { S: record.destinationVersionId };
  if (record.sequencer) item.sequencer = { S: record.sequencer };
  if (record.eTag) item.eTag = { S: record.eTag };
  if (record.size !== undefined) item.size = { N: String(record.size) };
  if (record.lock) item.lock = { M: lockItem(record.lock) };
  return item;
}

function claimOf(item: Record<string, AttributeValue>): KeyClaim | undefined {
  if (!item.claimToken?.S || !item.claimIntent?.S) return undefined;
  return {
    token: item.claimToken.S,
    expiresAt: Number(item.claimExpiresAt?.N ?? 0),
    claimedAt: Number(item.claimedAt?.N ?? 0),
    intent: parseIntent(item.claimIntent.S),
  };
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
    recordedAt: item.recordedAt?.S,
    lock: item.lock?.M ? lockOf(item.lock.M) : undefined,
  };
}

/** A replica's Object Lock as a map attribute: `mode` and `retainUntil` (ISO 8601), `legalHold`. */
function lockItem(lock: ReplicaLock): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {};
  if (lock.mode) item.mode = { S: lock.mode };
  if (lock.retainUntil) item.retainUntil = { S: lock.retainUntil.toISOString() };
  if (lock.legalHold) item.legalHold = { BOOL: true };
  return item;
}

function lockOf(item: Record<string, AttributeValue>): ReplicaLock {
  return {
    mode: item.mode?.S,
    retainUntil: item.retainUntil?.S ? new Date(item.retainUntil.S) : undefined,
    legalHold: item.legalHold?.BOOL === true ? true : undefined,
  };
}

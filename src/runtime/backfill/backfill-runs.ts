import { createHash } from 'crypto';
import {
  AttributeValue,
  BatchGetItemCommand,
  BatchGetItemCommandOutput,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { BackfillMode } from './backfill-plan';
import { RecordedReplica } from './reconcile';
import { HEAD, partitionKey, versionRecordOf, versionSortKey } from '../replication/key-state/version-table';
import { RunReports } from '../replication/outcomes/run-reports';

/**
 * A backfill run's state and its per-version outcomes, in the version-map table:
 * `pk` = `backfill#<run id>`, `sk` = `run` for the state (the listing checkpoint and counts), and
 * `sk` = `outcomeSortKey(key, version id)` for each listed version's outcome (a reconcile's extra
 * destination object has no source version), with the key and version id as `sourceKey` and
 * `sourceVersionId`.
 */
export type BackfillOutcome =
  | 'enqueued' | 'replicated' | 'already-present' | 'skipped-by-filter' | 'skipped' | 'failed' | 'extra-on-destination';

export interface OutcomeRecord {
  readonly key: string;
  /** The source version; absent for an extra object on the destination. */
  readonly versionId?: string;
  readonly outcome: BackfillOutcome;
  /** Why it was skipped or failed, or where an extra destination object comes from. */
  readonly reason?: string;
  /** What a reconcile found wrong with the replica, which made it enqueue the version. */
  readonly drift?: string;
  readonly bytes?: number;
}

export interface BackfillCounts {
  /** Versions (and delete markers) listed under the run's mode. */
  readonly listed: number;
  readonly enqueued: number;
  readonly alreadyPresent: number;
  readonly skippedByFilter: number;
  /** Listing requests made. */
  readonly listRequests: number;
  /** Reconcile: destination objects without a current source object. */
  readonly extraOnDestination?: number;
  /** Reconcile: listing requests made to the destination. */
  readonly destinationListRequests?: number;
}

export interface BackfillRun {
  readonly runId: string;
  readonly mode: BackfillMode;
  readonly status: 'listing' | 'waiting' | 'done';
  /** The last key whose every version was handled; the listing resumes after it. */
  readonly keyMarker?: string;
  /** Set only inside a key with more versions than one page holds. */
  readonly versionIdMarker?: string;
  readonly counts: BackfillCounts;
  readonly startedAt: string;
  readonly listedAt?: string;
  readonly finishedAt?: string;
  /** Bumped by every checkpoint: a second worker on the same run loses its conditional write. */
  readonly revision: number;
}

export const NO_COUNTS: BackfillCounts = {
  listed: 0, enqueued: 0, alreadyPresent: 0, skippedByFilter: 0, listRequests: 0, extraOnDestination: 0, destinationListRequests: 0,
};

/** Another invocation advanced the run first; this one stops (its work is redone from the checkpoint). */
export class BackfillRunMovedOnError extends Error {
  constructor(runId: string) {
    super(`backfill run ${runId} was advanced by another invocation`);
    this.name = 'BackfillRunMovedOnError';
  }
}

const runKey = (runId: string) => ({ pk: { S: `backfill#${runId}` }, sk: { S: 'run' } });

/** Bytes of the S3 key that lead an outcome's sort key: room for the digest under DynamoDB's 1,024. */
export const OUTCOME_KEY_PREFIX_BYTES = 768;

/**
 * An outcome's sort key: `outcome#`, the S3 key's first 768 bytes (whole characters), NUL, and a
 * SHA-256 of the key and version id. S3 keys are up to 1,024 bytes of UTF-8 and DynamoDB's sort key
 * at most 1,024 bytes, so the key cannot be embedded whole; its leading bytes keep the report in key
 * order, a key's versions together, and the digest tells the versions (and longer keys) apart. At
 * most 841 bytes.
 */
export function outcomeSortKey(key: string, versionId?: string): string {
  const digest = createHash('sha256').update(JSON.stringify([key, versionId ?? null])).digest('hex');
  return `outcome#${leadingCharacters(key, OUTCOME_KEY_PREFIX_BYTES)}\u0000${digest}`;
}

/** The longest start of `text` of at most `bytes` bytes of UTF-8, never splitting a character. */
function leadingCharacters(text: string, bytes: number): string {
  let used = 0;
  let end = 0;
  for (const character of text) {
    used += Buffer.byteLength(character, 'utf8');
    if (used > bytes) break;
    end += character.length;
  }
  return text.slice(0, end);
}

export class BackfillRuns implements RunReports {
  constructor(private readonly client: DynamoDBClient, private readonly tableName: string) {}

  async create(run: BackfillRun): Promise<void> {
    await this.client.send(new PutItemCommand({
      TableName: this.tableName,
      Item: { ...runKey(run.runId), state: { S: JSON.stringify(run) } },
      ConditionExpression: 'attribute_not_exists(pk)',
    }));
  }

  async get(runId: string): Promise<BackfillRun | undefined> {
    const result = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: runKey(runId), ConsistentRead: true }));
    return result.Item?.state?.S ? JSON.parse(result.Item.state.S) as BackfillRun : undefined;
  }

  /** Saves the next state if the stored one is still `previous` (optimistic concurrency). */
  async checkpoint(previous: BackfillRun, next: BackfillRun): Promise<BackfillRun> {
    const saved = { ...next, revision: previous.revision + 1 };
    try {
      await this.client.send(new PutItemCommand({
        TableName: this.tableName,
        Item: { ...runKey(previous.runId), state: { S: JSON.stringify(saved) }, revision: { N: String(saved.revision) } },
        ConditionExpression: previous.revision === 0 ? 'attribute_not_exists(revision) OR revision = :previous' : 'revision = :previous',
        ExpressionAttributeValues: { ':previous': { N: String(previous.revision) } },
      }));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new BackfillRunMovedOnError(previous.runId);
      throw error;
    }
    return saved;
  }

  /**
   * Records the replicator's outcome of an enqueued version. `replicated` is never overwritten by a
   * later `already-present` (the same version delivered twice), so the report keeps what actually
   * happened; what a reconcile found (`drift`) stays.
   */
  async recordOutcome(runId: string, record: OutcomeRecord): Promise<void> {
    const { pk, sk, ...fields } = outcomeItem(runId, record);
    const names = Object.keys(fields);
    const cleared = ['reason', 'bytes'].filter((name) => !(name in fields));
    try {
      await this.client.send(new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk, sk },
        UpdateExpression: `SET ${names.map((name) => `#${name} = :${name}`).join(', ')}${cleared.length > 0 ? ` REMOVE ${cleared.join(', ')}` : ''}`,
        ConditionExpression: 'attribute_not_exists(#outcome) OR #outcome <> :replicated',
        ExpressionAttributeNames: Object.fromEntries(names.map((name) => [`#${name}`, name])),
        ExpressionAttributeValues: {
          ...Object.fromEntries(names.map((name) => [`:${name}`, fields[name]])),
          ':replicated': { S: 'replicated' },
        },
      }));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** Records many outcomes the backfill decided itself (already present, skipped by the filter). */
  async recordOutcomes(runId: string, records: readonly OutcomeRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += 25) {
      let requests: Record<string, any[]> | undefined = {
        [this.tableName]: records.slice(i, i + 25).map((record) => ({ PutRequest: { Item: outcomeItem(runId, record) } })),
      };
      for (let attempt = 0; requests && Object.keys(requests).length > 0; attempt++) {
        if (attempt > 5) throw new Error('DynamoDB kept throttling the outcome writes');
        const result = await this.client.send(new BatchWriteItemCommand({ RequestItems: requests }));
        requests = result.UnprocessedItems as Record<string, any[]> | undefined;
      }
    }
  }

  /** Every outcome of the run, in key order. */
  async *outcomes(runId: string): AsyncGenerator<OutcomeRecord> {
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :outcome)',
        ExpressionAttributeValues: { ':pk': { S: `backfill#${runId}` }, ':outcome': { S: 'outcome#' } },
        ExclusiveStartKey: startKey,
        ConsistentRead: true,
      }));
      for (const item of page.Items ?? []) {
        yield {
          key: item.sourceKey.S!,
          versionId: item.sourceVersionId?.S,
          outcome: item.outcome.S as BackfillOutcome,
          reason: item.reason?.S,
          drift: item.drift?.S,
          bytes: item.bytes?.N === undefined ? undefined : Number(item.bytes.N),
        };
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  /** Which of these versions this run already recorded as replicated (a page listed again after a crash). */
  async replicatedInRun(runId: string, versions: ReadonlyArray<{ key: string; versionId: string }>): Promise<Set<string>> {
    const items = await this.batchGet(versions.map(({ key, versionId }) => ({ pk: { S: `backfill#${runId}` }, sk: { S: outcomeSortKey(key, versionId) } })));
    return new Set(items.filter((item) => item.outcome?.S === 'replicated').map((item) => versionKey(item.sourceKey.S!, item.sourceVersionId.S!)));
  }

  /**
   * What the version map records of these source versions (replicated or known deleted), by
   * `versionKey`: their own items and, for the newest version of each key, its key's head.
   */
  async versionRecords(versions: ReadonlyArray<{ key: string; versionId: string }>): Promise<Map<string, RecordedReplica>> {
    const keys = [...new Set(versions.map(({ key }) => key))];
    const items = await this.batchGet([
      ...versions.map(({ key, versionId }) => ({ pk: { S: partitionKey(key) }, sk: { S: versionSortKey(versionId) } })),
      ...keys.map((key) => ({ pk: { S: partitionKey(key) }, sk: { S: HEAD } })),
    ]);
    const itemsByKey = new Map<string, Array<Record<string, AttributeValue>>>();
    for (const item of items) itemsByKey.set(item.pk.S!, [...itemsByKey.get(item.pk.S!) ?? [], item]);
    const records = new Map<string, RecordedReplica>();
    for (const { key, versionId } of versions) {
      const record = versionRecordOf(itemsByKey.get(partitionKey(key)) ?? [], versionId);
      if (record) records.set(versionKey(key, versionId), record);
    }
    return records;
  }

  /** Consistent reads of many items, 100 a request, retrying what DynamoDB leaves unprocessed. */
  private async batchGet(keys: ReadonlyArray<Record<string, AttributeValue>>): Promise<Array<Record<string, AttributeValue>>> {
    const items: Array<Record<string, AttributeValue>> = [];
    for (let i = 0; i < keys.length; i += 100) {
      let pending: Array<Record<string, AttributeValue>> | undefined = keys.slice(i, i + 100);
      for (let attempt = 0; pending && pending.length > 0; attempt++) {
        if (attempt > 5) throw new Error('DynamoDB kept throttling the backfill\'s reads');
        const result: BatchGetItemCommandOutput = await this.client.send(new BatchGetItemCommand({
          RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } },
        }));
        items.push(...result.Responses?.[this.tableName] ?? []);
        pending = result.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return items;
  }
}

export const versionKey = (key: string, versionId: string) => `${key}\u0000${versionId}`;

function outcomeItem(runId: string, record: OutcomeRecord): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    pk: { S: `backfill#${runId}` },
    sk: { S: outcomeSortKey(record.key, record.versionId) },
    sourceKey: { S: record.key },
    outcome: { S: record.outcome },
    recordedAt: { S: new Date().toISOString() },
  };
  if (record.versionId !== undefined) item.sourceVersionId = { S: record.versionId };
  if (record.reason) item.reason = { S: record.reason.slice(0, 1000) };
  if (record.drift) item.drift = { S: record.drift };
  if (record.bytes !== undefined) item.bytes = { N: String(record.bytes) };
  return item;
}

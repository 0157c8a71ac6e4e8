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
 * `pk` = `backfill#<run id>`, `sk` = `run` for the state (the listing checkpoint and counts, and the
 * counter `resolved`, which the replicator adds to), `sk` = `part#<n>` for each file of an
 * inventory run (its progress), and for each listed
 * version's outcome (a reconcile's extra destination object has no source version) `pk` =
 * `backfill#<run id>#<shard>` (`outcomeShard`: outcomes spread over `OUTCOME_SHARDS` partitions,
 * none hot at any concurrency), `sk` = `outcomeSortKey(key, version id)`, with the key and version
 * id as `sourceKey` and `sourceVersionId`. Runs created before sharding (no `outcomeShards`) keep
 * their outcomes under `backfill#<run id>`.
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
  /** The partitions its outcomes are spread over; absent for runs from before sharding. */
  readonly outcomeShards?: number;
  /** The `resolved` counter when the wait last read it: no rise since then is a stall. */
  readonly resolvedAtLastCheck?: number;
  /** When the wait last read every outcome and found some still pending. */
  readonly outcomesReadAt?: string;
  /** An inventory run: its manifest (`s3://...`), how many files it names, whether their steps are queued. */
  readonly inventory?: { readonly manifest: string; readonly files: number; readonly fannedOut?: boolean };
}

/**
 * The partitions a new run's outcomes are spread over. Part of the stored format: the replicator
 * files every outcome by this number while a run's reader uses the run's own `outcomeShards`, so a
 * change needs a release in which no run is in flight.
 */
export const OUTCOME_SHARDS = 32;

/** The run's counters, kept beside its state by atomic adds. */
export interface RunCounters {
  /** Outcomes that went from `enqueued` to what the replicator did. */
  readonly resolved: number;
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

/** Which of a run's outcome partitions holds a version's outcome (from the same digest as its sort key). */
export function outcomeShard(key: string, versionId: string | undefined, shards: number): number {
  return parseInt(outcomeDigest(key, versionId).slice(0, 8), 16) % shards;
}

/** Where a run's outcome of a version is kept. */
function outcomeKey(run: RunOutcomes, key: string, versionId?: string): { pk: AttributeValue; sk: AttributeValue } {
  const pk = run.outcomeShards ? `backfill#${run.runId}#${outcomeShard(key, versionId, run.outcomeShards)}` : `backfill#${run.runId}`;
  return { pk: { S: pk }, sk: { S: outcomeSortKey(key, versionId) } };
}

/** What locates a run's outcomes. */
export type RunOutcomes = Pick<BackfillRun, 'runId' | 'outcomeShards'>;

function outcomeDigest(key: string, versionId?: string): string {
  return createHash('sha256').update(JSON.stringify([key, versionId ?? null])).digest('hex');
}

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
  return `outcome#${leadingCharacters(key, OUTCOME_KEY_PREFIX_BYTES)}\u0000${outcomeDigest(key, versionId)}`;
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

  /** An inventory run's file records. */
  parts(): InventoryParts {
    return new InventoryParts(this.client, this.tableName);
  }

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
      // An update, not a put: the counters beside the state (the replicator's adds) stay.
      await this.client.send(new UpdateItemCommand({
        TableName: this.tableName,
        Key: runKey(previous.runId),
        UpdateExpression: 'SET #state = :state, revision = :next',
        ConditionExpression: previous.revision === 0 ? 'attribute_not_exists(revision) OR revision = :previous' : 'revision = :previous',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':previous': { N: String(previous.revision) }, ':next': { N: String(saved.revision) }, ':state': { S: JSON.stringify(saved) } },
      }));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new BackfillRunMovedOnError(previous.runId);
      throw error;
    }
    return saved;
  }

  /**
   * Records the replicator's outcome of an enqueued version. Returns true for the first outcome of
   * a version still `enqueued`, which the caller adds to the run's `resolved` counter
   * (`addResolved`, once per invocation), so the wait for completion reads one item. (Separate
   * writes, not a transaction: a crash between them leaves the counter short, which the wait
   * notices as a stall and settles by reading the outcomes.) `replicated` is never overwritten by a
   * later `already-present` (the same version delivered twice), so the report keeps what actually
   * happened; what a reconcile found (`drift`) stays.
   */
  async recordOutcome(runId: string, record: OutcomeRecord): Promise<boolean> {
    const update = outcomeUpdate(this.tableName, { runId, outcomeShards: OUTCOME_SHARDS }, record);
    try {
      const result = await this.client.send(new UpdateItemCommand({
        ...update,
        // The backfill wrote `enqueued` before it enqueued: no item here means a run from before sharding.
        ConditionExpression: 'attribute_exists(#outcome) AND #outcome <> :replicated',
        ExpressionAttributeValues: { ...update.ExpressionAttributeValues, ':replicated': { S: 'replicated' } },
        ReturnValues: 'UPDATED_OLD',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }));
      return result.Attributes?.outcome?.S === 'enqueued';
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // Already `replicated`: a redelivery, nothing to record.
      if (error.Item) return false;
    }
    const legacy = outcomeUpdate(this.tableName, { runId }, record);
    try {
      await this.client.send(new UpdateItemCommand({
        ...legacy,
        ConditionExpression: 'attribute_not_exists(#outcome) OR #outcome <> :replicated',
        ExpressionAttributeValues: { ...legacy.ExpressionAttributeValues, ':replicated': { S: 'replicated' } },
      }));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    // A run from before sharding waits by reading its outcomes, not by the counter.
    return false;
  }

  /** Adds `count` to the run's `resolved` counter (an atomic add beside its state). */
  async addResolved(runId: string, count: number): Promise<void> {
    if (count <= 0) return;
    await this.client.send(new UpdateItemCommand({
      TableName: this.tableName, Key: runKey(runId), UpdateExpression: 'ADD resolved :count', ExpressionAttributeValues: { ':count': { N: String(count) } },
    }));
  }

  /** Records many outcomes the backfill decided itself (already present, skipped by the filter). */
  async recordOutcomes(run: RunOutcomes, records: readonly OutcomeRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += 25) {
      let requests: Record<string, any[]> | undefined = {
        [this.tableName]: records.slice(i, i + 25).map((record) => ({ PutRequest: { Item: outcomeItem(run, record) } })),
      };
      for (let attempt = 0; requests && Object.keys(requests).length > 0; attempt++) {
        if (attempt > 5) throw new Error('DynamoDB kept throttling the outcome writes');
        const result = await this.client.send(new BatchWriteItemCommand({ RequestItems: requests }));
        requests = result.UnprocessedItems as Record<string, any[]> | undefined;
      }
    }
  }

  /** The run's counters (zero when none was added yet). */
  async counters(runId: string): Promise<RunCounters> {
    const result = await this.client.send(new GetItemCommand({
      TableName: this.tableName, Key: runKey(runId), ProjectionExpression: 'resolved', ConsistentRead: true,
    }));
    return { resolved: Number(result.Item?.resolved?.N ?? 0) };
  }

  /**
   * Every outcome of the run, in key order: its shards read side by side, one page each at a
   * time, and merged by sort key (DynamoDB's order, by UTF-8 bytes).
   */
  async *outcomes(run: RunOutcomes): AsyncGenerator<OutcomeRecord> {
    const partitions = run.outcomeShards
      ? Array.from({ length: run.outcomeShards }, (_, shard) => `backfill#${run.runId}#${shard}`)
      : [`backfill#${run.runId}`];
    const heads = await Promise.all(partitions.map(async (pk) => {
      const stream = this.partition(pk);
      return { stream, current: await stream.next() };
    }));
    for (;;) {
      let next: (typeof heads)[number] | undefined;
      for (const head of heads) {
        if (head.current.done) continue;
        if (!next || Buffer.compare(Buffer.from(head.current.value.sk.S!, 'utf8'), Buffer.from((next.current.value as Record<string, AttributeValue>).sk.S!, 'utf8')) < 0) next = head;
      }
      if (!next) return;
      yield outcomeOf(next.current.value as Record<string, AttributeValue>);
      next.current = await next.stream.next();
    }
  }

  /** The outcome items of one partition, in sort-key order. */
  private async *partition(pk: string): AsyncGenerator<Record<string, AttributeValue>> {
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :outcome)',
        ExpressionAttributeValues: { ':pk': { S: pk }, ':outcome': { S: 'outcome#' } },
        ExclusiveStartKey: startKey,
        ConsistentRead: true,
      }));
      yield* page.Items ?? [];
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  /** Which of these versions this run already recorded as replicated (a page listed again after a crash). */
  async replicatedInRun(run: RunOutcomes, versions: ReadonlyArray<{ key: string; versionId: string }>): Promise<Set<string>> {
    const items = await this.batchGet(versions.map(({ key, versionId }) => outcomeKey(run, key, versionId)));
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

/** One inventory file's progress: its own item (`sk` = `part#<n>`), so files advance side by side. */
export interface InventoryPart {
  readonly part: number;
  readonly status: 'reading' | 'done';
  /** Lines of the file handled; a step resumes after them. */
  readonly offset: number;
  /** The file's MD5 matched the manifest's. */
  readonly verified: boolean;
  readonly counts: Pick<BackfillCounts, 'listed' | 'enqueued' | 'alreadyPresent' | 'skippedByFilter'>;
  /** Why the file was not read (its MD5 differs from the manifest's). */
  readonly error?: string;
  readonly revision: number;
}

const initialPart = (part: number): InventoryPart => ({
  part, status: 'reading', offset: 0, verified: false, counts: { listed: 0, enqueued: 0, alreadyPresent: 0, skippedByFilter: 0 }, revision: 0,
});

const partKey = (runId: string, part: number) => ({ pk: { S: `backfill#${runId}` }, sk: { S: `part#${String(part).padStart(6, '0')}` } });

/** An inventory run's file records, beside its state. */
export class InventoryParts {
  constructor(private readonly client: DynamoDBClient, private readonly tableName: string) {}

  async get(runId: string, part: number): Promise<InventoryPart> {
    const result = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: partKey(runId, part), ConsistentRead: true }));
    return result.Item?.state?.S ? JSON.parse(result.Item.state.S) as InventoryPart : initialPart(part);
  }

  /** Saves the file's progress if it is still at `previous` (another invocation on it loses). */
  async checkpoint(runId: string, previous: InventoryPart, next: InventoryPart): Promise<InventoryPart> {
    const saved = { ...next, revision: previous.revision + 1 };
    await this.guarded(runId, () => this.client.send(new PutItemCommand({ ...this.put(runId, previous, saved) })));
    return saved;
  }

  /** Marks the file done; its counts are the run's share of this file. */
  async complete(runId: string, previous: InventoryPart, next: InventoryPart): Promise<InventoryPart> {
    return this.checkpoint(runId, previous, { ...next, status: 'done' });
  }

  /** Every file's record, 100 a request: the coordinator's view of the run. */
  async all(runId: string, files: number): Promise<InventoryPart[]> {
    const found = new Map<number, InventoryPart>();
    for (let first = 0; first < files; first += 100) {
      let keys: Array<Record<string, AttributeValue>> | undefined =
        Array.from({ length: Math.min(100, files - first) }, (_, i) => partKey(runId, first + i));
      for (let attempt = 0; keys && keys.length > 0; attempt++) {
        if (attempt > 5) throw new Error('DynamoDB kept throttling the reads of the inventory files\' progress');
        const result: BatchGetItemCommandOutput = await this.client.send(new BatchGetItemCommand({
          RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } },
        }));
        for (const item of result.Responses?.[this.tableName] ?? []) {
          const part = JSON.parse(item.state.S!) as InventoryPart;
          found.set(part.part, part);
        }
        keys = result.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return Array.from({ length: files }, (_, part) => found.get(part) ?? initialPart(part));
  }

  private put(runId: string, previous: InventoryPart, saved: InventoryPart) {
    return {
      TableName: this.tableName,
      Item: { ...partKey(runId, saved.part), state: { S: JSON.stringify(saved) }, revision: { N: String(saved.revision) } },
      ConditionExpression: previous.revision === 0 ? 'attribute_not_exists(revision)' : 'revision = :previous',
      ...(previous.revision === 0 ? {} : { ExpressionAttributeValues: { ':previous': { N: String(previous.revision) } } }),
    };
  }

  private async guarded(runId: string, write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new BackfillRunMovedOnError(runId);
      throw error;
    }
  }
}

export const versionKey = (key: string, versionId: string) => `${key}\u0000${versionId}`;

function outcomeItem(run: RunOutcomes, record: OutcomeRecord): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    ...outcomeKey(run, record.key, record.versionId),
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

/** The update that records an outcome on its item: its fields set, a former reason or size removed. */
function outcomeUpdate(tableName: string, run: RunOutcomes, record: OutcomeRecord) {
  const { pk, sk, ...fields } = outcomeItem(run, record);
  const names = Object.keys(fields);
  const cleared = ['reason', 'bytes'].filter((name) => !(name in fields));
  return {
    TableName: tableName,
    Key: { pk, sk },
    UpdateExpression: `SET ${names.map((name) => `#${name} = :${name}`).join(', ')}${cleared.length > 0 ? ` REMOVE ${cleared.join(', ')}` : ''}`,
    ExpressionAttributeNames: Object.fromEntries(names.map((name) => [`#${name}`, name])),
    ExpressionAttributeValues: Object.fromEntries(names.map((name) => [`:${name}`, fields[name]])) as Record<string, AttributeValue>,
  };
}

function outcomeOf(item: Record<string, AttributeValue>): OutcomeRecord {
  return {
    key: item.sourceKey.S!,
    versionId: item.sourceVersionId?.S,
    outcome: item.outcome.S as BackfillOutcome,
    reason: item.reason?.S,
    drift: item.drift?.S,
    bytes: item.bytes?.N === undefined ? undefined : Number(item.bytes.N),
  };
}

import {
  AttributeValue,
  BatchWriteItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { ChecksumAlgorithmName, ChecksumTypeName } from '../checksums';

/**
 * The multipart uploads in progress, in the version-map table, so a copy continues in the next
 * invocation where this one stopped: `pk` = `upload#<key>\u0000<version id>`, `sk` = `upload` for
 * the upload (its id and plan) and `sk` = `part#<number>` for each part the destination accepted,
 * written as soon as it is, so a crash loses only the parts in flight. Items carry `expiresAt`
 * (the table's TTL attribute), a backstop for uploads whose message ended in the dead-letter queue.
 */
export interface UploadPlan {
  readonly uploadId: string;
  /** The source version's ETag when the upload started: a different one means a different object. */
  readonly sourceETag: string;
  readonly size: number;
  readonly partSize: number;
  /**
   * The destination answers each part with its MD5 as ETag (no SSE-KMS), so the engine need not
   * hash the parts itself to check a multipart source's ETag.
   */
  readonly partETagsAreMd5: boolean;
  /** The upload's checksum algorithm and type (the source's, see `multipartChecksumPlan`); absent in older records: CRC32, composite. */
  readonly checksumAlgorithm?: ChecksumAlgorithmName;
  readonly checksumType?: ChecksumTypeName;
}

export interface CompletedPart {
  readonly partNumber: number;
  readonly eTag: string;
  /** Base64 checksum of the part's bytes in the upload's algorithm, as sent to and verified by the destination. */
  readonly checksum: string;
  /** Hex MD5 of the part (computed, or the destination's ETag), when the source's ETag is checked part by part. */
  readonly md5?: string;
}

/** What completing the upload produced: kept until the replica is recorded in the version map. */
export interface CompletedUpload {
  readonly destinationVersionId: string;
  readonly eTag?: string;
  /** What the bytes were checked against (see `SourceCheck`). */
  readonly verifiedBy: 'md5' | 'multipart-md5' | 'checksum' | 'transit';
}

export interface UploadCheckpoint extends UploadPlan {
  readonly parts: CompletedPart[];
  /** Set once the upload is completed: a retry takes this replica instead of copying again. */
  readonly completed?: CompletedUpload;
}

/** How long checkpoint items live when nothing deletes them: past the dead-letter queue's retention. */
const RETENTION_SECONDS = 30 * 24 * 3600;
const UPLOAD = 'upload';
const partSortKey = (partNumber: number) => `part#${String(partNumber).padStart(5, '0')}`;
const partitionKey = (key: string, versionId: string) => `upload#${key}\u0000${versionId}`;

export class UploadCheckpoints {
  constructor(private readonly client: DynamoDBClient, private readonly tableName: string, private readonly now: () => number = Date.now) {}

  /** The upload in progress for a source version, with its accepted parts; undefined when none. */
  async load(key: string, versionId: string): Promise<UploadCheckpoint | undefined> {
    const items = await this.items(key, versionId);
    const upload = items.find((item) => item.sk.S === UPLOAD);
    if (!upload) return undefined;
    return {
      uploadId: upload.uploadId.S!,
      sourceETag: upload.sourceETag.S!,
      size: Number(upload.size.N),
      partSize: Number(upload.partSize.N),
      partETagsAreMd5: upload.partETagsAreMd5?.BOOL === true,
      ...(upload.checksumAlgorithm?.S ? { checksumAlgorithm: upload.checksumAlgorithm.S as ChecksumAlgorithmName } : {}),
      ...(upload.checksumType?.S ? { checksumType: upload.checksumType.S as ChecksumTypeName } : {}),
      completed: upload.destinationVersionId?.S ? {
        destinationVersionId: upload.destinationVersionId.S,
        eTag: upload.completedETag?.S,
        verifiedBy: (upload.verifiedBy?.S ?? 'transit') as CompletedUpload['verifiedBy'],
      } : undefined,
      parts: items.filter((item) => item.sk.S !== UPLOAD).map((item) => ({
        partNumber: Number(item.partNumber.N),
        eTag: item.eTag.S!,
        // Records written before the upload's algorithm was the source's name it `checksumCRC32`.
        checksum: (item.checksum ?? item.checksumCRC32).S!,
        md5: item.md5?.S,
      })),
    };
  }

  async start(key: string, versionId: string, plan: UploadPlan): Promise<void> {
    await this.put(key, versionId, UPLOAD, {
      uploadId: { S: plan.uploadId },
      sourceETag: { S: plan.sourceETag },
      size: { N: String(plan.size) },
      partSize: { N: String(plan.partSize) },
      partETagsAreMd5: { BOOL: plan.partETagsAreMd5 },
      ...(plan.checksumAlgorithm ? { checksumAlgorithm: { S: plan.checksumAlgorithm } } : {}),
      ...(plan.checksumType ? { checksumType: { S: plan.checksumType } } : {}),
    });
  }

  async recordPart(key: string, versionId: string, part: CompletedPart): Promise<void> {
    await this.put(key, versionId, partSortKey(part.partNumber), {
      partNumber: { N: String(part.partNumber) },
      eTag: { S: part.eTag },
      checksum: { S: part.checksum },
      ...(part.md5 ? { md5: { S: part.md5 } } : {}),
    });
  }

  /**
   * Records that the upload was completed, then drops its parts. The upload item stays until the
   * caller has recorded the replica (then `clear`), so a failure in between (a throttled table, a
   * timeout) costs a retry that takes this replica, never a second copy of the object.
   */
  async markCompleted(key: string, versionId: string, completed: CompletedUpload): Promise<void> {
    await this.client.send(new UpdateItemCommand({
      TableName: this.tableName,
      Key: { pk: { S: partitionKey(key, versionId) }, sk: { S: UPLOAD } },
      ConditionExpression: 'attribute_exists(pk)',
      UpdateExpression: 'SET destinationVersionId = :version, verifiedBy = :verifiedBy' + (completed.eTag ? ', completedETag = :eTag' : ''),
      ExpressionAttributeValues: {
        ':version': { S: completed.destinationVersionId },
        ':verifiedBy': { S: completed.verifiedBy },
        ...(completed.eTag ? { ':eTag': { S: completed.eTag } } : {}),
      },
    }));
    await this.deleteParts(key, versionId);
  }

  /** Forgets the upload (completed or aborted): its parts first, the upload item last. */
  async clear(key: string, versionId: string): Promise<void> {
    await this.deleteParts(key, versionId);
    await this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: { pk: { S: partitionKey(key, versionId) }, sk: { S: UPLOAD } } }));
  }

  private async deleteParts(key: string, versionId: string): Promise<void> {
    const pk = { S: partitionKey(key, versionId) };
    const parts = (await this.items(key, versionId)).filter((item) => item.sk.S !== UPLOAD);
    for (let start = 0; start < parts.length; start += 25) {
      let requests: Record<string, { DeleteRequest: { Key: Record<string, AttributeValue> } }[]> = {
        [this.tableName]: parts.slice(start, start + 25).map((item) => ({ DeleteRequest: { Key: { pk, sk: item.sk } } })),
      };
      for (let attempt = 0; Object.keys(requests).length > 0; attempt++) {
        if (attempt === 5) throw new Error('DynamoDB did not accept the checkpoint deletes (throttled); the message will be retried');
        const result = await this.client.send(new BatchWriteItemCommand({ RequestItems: requests }));
        requests = (result.UnprocessedItems ?? {}) as typeof requests;
      }
    }
  }

  private async put(key: string, versionId: string, sk: string, fields: Record<string, AttributeValue>): Promise<void> {
    await this.client.send(new PutItemCommand({
      TableName: this.tableName,
      Item: {
        pk: { S: partitionKey(key, versionId) },
        sk: { S: sk },
        expiresAt: { N: String(Math.floor(this.now() / 1000) + RETENTION_SECONDS) },
        ...fields,
      },
    }));
  }

  private async items(key: string, versionId: string): Promise<Record<string, AttributeValue>[]> {
    const items: Record<string, AttributeValue>[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: partitionKey(key, versionId) } },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }));
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }
}

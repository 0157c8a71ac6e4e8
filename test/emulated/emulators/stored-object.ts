import { GetObjectCommand, GetObjectTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import { REPLICA_MARKER_KEY } from '../../../src/runtime/contract/replica-marker';

/** A current object as one side holds it: bytes, system and user metadata, and tags. */
export interface StoredObject {
  readonly body: Buffer;
  readonly versionId?: string;
  readonly contentType?: string;
  readonly cacheControl?: string;
  readonly contentDisposition?: string;
  readonly contentEncoding?: string;
  readonly contentLanguage?: string;
  readonly expires?: Date;
  /** User metadata, without the replica marker (so a replica's compares equal to its source's). */
  readonly metadata?: Record<string, string>;
  /** The replica marker's value, when the object is a replica the replicator wrote. */
  readonly replicaOf?: string;
  readonly storageClass?: string;
  readonly serverSideEncryption?: string;
  readonly kmsKeyId?: string;
  readonly tags: Record<string, string>;
}

/** A bucket's current object for a key, with its tags, or undefined when it is deleted or absent. */
export async function currentObject(s3: S3Client, bucket: string, key: string): Promise<StoredObject | undefined> {
  let object;
  try {
    object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
    throw error;
  }
  const { [REPLICA_MARKER_KEY]: replicaOf, ...metadata } = object.Metadata ?? {};
  const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key, VersionId: object.VersionId }));
  return {
    body: Buffer.from(await object.Body!.transformToByteArray()),
    versionId: object.VersionId,
    contentType: object.ContentType,
    cacheControl: object.CacheControl,
    contentDisposition: object.ContentDisposition,
    contentEncoding: object.ContentEncoding,
    contentLanguage: object.ContentLanguage,
    expires: object.Expires,
    metadata: object.Metadata ? metadata : undefined,
    replicaOf,
    storageClass: object.StorageClass,
    serverSideEncryption: object.ServerSideEncryption,
    kmsKeyId: object.SSEKMSKeyId,
    tags: Object.fromEntries((tags.TagSet ?? []).map((tag) => [tag.Key!, tag.Value!])),
  };
}

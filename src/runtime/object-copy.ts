import { Readable } from 'stream';
import {
  DeleteObjectCommand,
  DeleteObjectTaggingCommand,
  GetObjectCommand,
  GetObjectCommandOutput,
  GetObjectTaggingCommand,
  PutObjectCommandInput,
  PutObjectTaggingCommand,
  S3Client,
  StorageClass,
  Tag,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

/** Where and how replicas are written. */
export interface DestinationOptions {
  readonly bucket: string;
  readonly kmsKeyArn?: string;
  /** Undefined: keep the source object's storage class. */
  readonly storageClass?: string;
  readonly replicateTags: boolean;
}

/** What the destination returned for a written version. */
export interface WrittenVersion {
  readonly destinationVersionId: string;
  readonly eTag?: string;
  readonly size?: number;
}

/** The source version no longer exists (deleted or expired before its event was processed). */
export class SourceVersionGoneError extends Error {
  constructor(key: string, versionId: string, cause: unknown) {
    super(`source version ${versionId} of "${key}" no longer exists (${(cause as { name?: string }).name ?? 'not found'})`);
    this.name = 'SourceVersionGoneError';
  }
}

/** Parts above this size go through multipart upload; memory stays at most QUEUE_SIZE parts. */
export const MIN_PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 4;
const MAX_PARTS = 10_000;

/** The part size for an object: at least 8 MiB, and large enough that the part count stays within S3's 10,000. */
export function partSizeFor(size: number): number {
  const needed = Math.ceil(size / MAX_PARTS);
  const mib = 1024 * 1024;
  return Math.max(MIN_PART_SIZE, Math.ceil(needed / mib) * mib);
}

const GONE = new Set(['NoSuchKey', 'NoSuchVersion', 'NotFound', 'MethodNotAllowed']);

/**
 * Streams exactly one source version to the destination: never "latest", so an overwrite during
 * the copy cannot produce a wrong or mixed object. Metadata, tags (in the same request), storage
 * class and KMS settings travel with it; the destination version id comes from the PUT or the
 * Complete response. Memory is bounded by the parts in flight, whatever the object size.
 */
export async function copyVersion(
  source: S3Client,
  sourceBucket: string,
  key: string,
  versionId: string,
  destination: S3Client,
  options: DestinationOptions,
): Promise<WrittenVersion> {
  const object = await getVersion(source, sourceBucket, key, versionId);
  const body = object.Body as Readable;
  try {
    const tagging = options.replicateTags && (object.TagCount ?? 0) > 0
      ? encodeTags(await readTags(source, sourceBucket, key, versionId))
      : undefined;
    const size = object.ContentLength ?? 0;
    const upload = new Upload({
      client: destination,
      params: { ...replicaParams(object, options), Bucket: options.bucket, Key: key, Body: body, Tagging: tagging },
      partSize: partSizeFor(size),
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
    });
    const result = await upload.done();
    if (!result.VersionId) {
      throw new Error(`destination bucket ${options.bucket} returned no version id: enable versioning on it`);
    }
    return { destinationVersionId: result.VersionId, eTag: result.ETag, size };
  } finally {
    body.destroy();
  }
}

/** The metadata, storage class and encryption a replica is written with. */
export function replicaParams(object: GetObjectCommandOutput, options: DestinationOptions): Partial<PutObjectCommandInput> {
  const storageClass = options.storageClass ?? object.StorageClass;
  return {
    ContentType: object.ContentType,
    CacheControl: object.CacheControl,
    ContentDisposition: object.ContentDisposition,
    ContentEncoding: object.ContentEncoding,
    ContentLanguage: object.ContentLanguage,
    Expires: object.Expires,
    Metadata: object.Metadata,
    StorageClass: storageClass && storageClass !== 'STANDARD' ? storageClass as StorageClass : undefined,
    ...(options.kmsKeyArn ? { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: options.kmsKeyArn } : {}),
  };
}

/**
 * Creates a delete marker for the key on the destination and returns its version id. S3 creates a
 * marker even when the key has no version there; some S3-compatible stores (and moto) then create
 * nothing and return no id, which leaves the destination equally "deleted".
 */
export async function createDeleteMarker(destination: S3Client, bucket: string, key: string): Promise<{ destinationVersionId?: string }> {
  const result = await destination.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  return { destinationVersionId: result.VersionId };
}

/** Permanently deletes one destination version. */
export async function deleteVersion(destination: S3Client, bucket: string, key: string, versionId: string): Promise<void> {
  await destination.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
}

/** Sets the source version's current tags on its replica. */
export async function syncTags(
  source: S3Client,
  sourceBucket: string,
  key: string,
  versionId: string,
  destination: S3Client,
  destinationBucket: string,
  destinationVersionId: string,
): Promise<void> {
  const tags = await readTags(source, sourceBucket, key, versionId);
  const target = { Bucket: destinationBucket, Key: key, VersionId: destinationVersionId };
  // An empty tag set is a delete: DeleteObjectTagging says so to every S3-compatible store.
  if (tags.length > 0) {
    await destination.send(new PutObjectTaggingCommand({ ...target, Tagging: { TagSet: tags } }));
  } else {
    await destination.send(new DeleteObjectTaggingCommand(target));
  }
}

async function getVersion(source: S3Client, bucket: string, key: string, versionId: string): Promise<GetObjectCommandOutput> {
  try {
    return await source.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  } catch (error) {
    throw asGone(error, key, versionId);
  }
}

async function readTags(source: S3Client, bucket: string, key: string, versionId: string): Promise<Tag[]> {
  try {
    const result = await source.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
    return result.TagSet ?? [];
  } catch (error) {
    throw asGone(error, key, versionId);
  }
}

function asGone(error: unknown, key: string, versionId: string): unknown {
  const name = (error as { name?: string }).name ?? '';
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return GONE.has(name) || status === 404 ? new SourceVersionGoneError(key, versionId, error) : error;
}

/** Tags as the `x-amz-tagging` header wants them: URL-encoded query string. */
export function encodeTags(tags: Tag[]): string | undefined {
  if (tags.length === 0) return undefined;
  return tags.map((tag) => `${encodeURIComponent(tag.Key ?? '')}=${encodeURIComponent(tag.Value ?? '')}`).join('&');
}

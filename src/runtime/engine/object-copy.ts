import { Readable } from 'stream';
import {
  DeleteObjectCommand,
  DeleteObjectTaggingCommand,
  GetObjectCommandOutput,
  PutObjectCommand,
  PutObjectCommandInput,
  PutObjectTaggingCommand,
  S3Client,
  StorageClass,
  Tag,
} from '@aws-sdk/client-s3';
import { checksumField, singleRequestChecksum, sourceChecksumOf } from './checksums';
import { CopyLimits, multipartCopy } from './multipart/multipart-copy';
import { replicaStorageClass } from '../contract/storage-classes';
import { isSinglePartCopy } from './multipart/part-plan';
import { UploadCheckpoints } from './multipart/upload-checkpoints';
import {
  DestinationObjectLockMissingError, isMissingObjectLockConfiguration, lockedWriteChecksumAlgorithm, lockOfReplica, objectLockParams, ReplicaLock,
} from './object-lock';
import { sentOnceUnlessRefused } from './retries';
import { getVersion, readTags, SourceVersion, SourceVersionIsReplicaError } from './source-reads';
import { SourceCheck, sourceCheckFor } from './verification';
import { isReplica, REPLICA_MARKER_KEY, withReplicaMarker } from '../contract/replica-marker';
import { EVERY_KEY, matchesTagFilter, needsTagRead, ReplicationScope } from '../contract/replication-scope';

/** Where and how replicas are written. */
export interface DestinationOptions {
  readonly bucket: string;
  readonly kmsKeyArn?: string;
  /** Undefined: keep the source object's storage class. */
  readonly storageClass?: string;
  readonly replicateTags: boolean;
  /** With `kmsKeyArn`: write the replica with an S3 Bucket Key. */
  readonly bucketKeyEnabled?: boolean;
  /** The destination partition: a source storage class it does not offer becomes STANDARD (see storage-classes.ts). */
  readonly partition?: string;
  /** Told when the source's storage class was replaced because the destination does not offer it. */
  readonly onStorageClassReplaced?: (sourceClass: string, replicaClass: string) => void;
  /** Each version's retention and legal hold travel with its replica (`replicateObjectLock`). */
  readonly replicateObjectLock?: boolean;
  /** The scope whose tag filter a version's tags must pass to be copied; absent: every version. */
  readonly scope?: ReplicationScope;
}

/** What the destination returned for a written version. */
export interface WrittenVersion {
  readonly destinationVersionId: string;
  readonly eTag?: string;
  readonly size?: number;
  /** The Object Lock the replica was written with, if any. */
  readonly lock?: ReplicaLock;
}

/** What the engine may spend, and where it records uploads that continue in a later invocation. */
export interface CopyEngine {
  readonly checkpoints: UploadCheckpoints;
  readonly limits: CopyLimits;
  /** The destination version a repair replaces: never taken as the copy's result. */
  readonly replacing?: string;
}

export type CopyResult =
  | {
    readonly status: 'completed';
    readonly written: WrittenVersion;
    readonly verifiedBy: SourceCheck['kind'] | 'checksum';
    readonly resumedParts: number;
    /** A multipart upload's record is kept: `checkpoints.clear` it once the replica is recorded. */
    readonly uploadRecorded: boolean;
  }
  | { readonly status: 'suspended'; readonly partsDone: number; readonly partCount: number }
  /** The version's tags do not pass the scope's tag filter: nothing was written. */
  | { readonly status: 'filtered' };

/**
 * Copies exactly one source version (never "latest", so an overwrite during the copy cannot
 * produce a wrong or mixed object), with its metadata, tags (in the same request), storage class
 * and KMS settings; a version whose tags (read with it) do not pass the scope's tag filter is not
 * copied (`filtered`), and one without tags needs no tag read. Up to 8 MiB: one GET streamed into one PUT, which the destination checks
 * against the source's MD5 ETag or stored checksum. Larger: the multipart engine (parallel ranged
 * GETs and UploadParts, memory bounded by the parts in flight, resumable across invocations).
 */
export async function copyVersion(
  source: SourceVersion, destination: S3Client, options: DestinationOptions, engine: CopyEngine,
): Promise<CopyResult> {
  const object = await getVersion(source);
  const body = object.Body as Readable;
  try {
    // A replica another replication wrote (the other direction of a two-way set-up) is not copied back.
    if (isReplica(object.Metadata)) throw new SourceVersionIsReplicaError(source.key, source.versionId, object.Metadata?.[REPLICA_MARKER_KEY] ?? '');
    const scope = options.scope ?? EVERY_KEY;
    const tagSet = needsTagRead(scope, options.replicateTags, object.TagCount ?? 0) ? await readTags(source) : [];
    if (!matchesTagFilter(scope, tagSet)) return { status: 'filtered' };
    const tags = options.replicateTags ? encodeTags(tagSet) : undefined;
    const size = object.ContentLength ?? 0;
    const replica = { ...replicaParams(object, options), Bucket: options.bucket, Key: source.key, Tagging: tags };
    // Marked as a replica in the same PUT or CreateMultipartUpload (never a marker copied from the source).
    replica.Metadata = withReplicaMarker(replica.Metadata, source.bucket, source.versionId);
    if (isSinglePartCopy(size)) {
      const verification = sourceDigestHeaders(object);
      // In memory (at most 8 MiB), so the SDK can send it again after a 503 Slow Down or a throttle.
      const bytes = await readAll(body, size);
      const put = new PutObjectCommand({
        ...replica, ...verification.headers, ...lockedWriteChecksumAlgorithm(replica, verification.headers), Body: bytes, ContentLength: size,
      });
      const result = await destination.send(sentOnceUnlessRefused(put, 'PutObject'));
      if (!result.VersionId) throw new Error(`destination bucket ${options.bucket} returned no version id: enable versioning on it`);
      const written = { destinationVersionId: result.VersionId, eTag: result.ETag, size, lock: lockOfReplica(replica) };
      return { status: 'completed', written, verifiedBy: verification.verifiedBy, resumedParts: 0, uploadRecorded: false };
    }
    // The GET's body, unread so far, becomes part 1 (no second GET for it).
    const copied = await multipartCopy({
      source,
      firstBody: body,
      object: { size, eTag: object.ETag ?? '', serverSideEncryption: object.ServerSideEncryption, checksum: sourceChecksumOf(object) },
      destination,
      upload: replica,
      ...engine,
    });
    if (copied.status === 'suspended') return copied;
    const { destinationVersionId, eTag, verifiedBy, resumedParts } = copied;
    return { status: 'completed', written: { destinationVersionId, eTag, size, lock: lockOfReplica(replica) }, verifiedBy, resumedParts, uploadRecorded: true };
  } catch (error) {
    // The replica carried the version's lock, and the destination bucket has no Object Lock.
    if (isMissingObjectLockConfiguration(error)) throw new DestinationObjectLockMissingError(options.bucket, source.key, error);
    throw error;
  } finally {
    body.destroy();
  }
}

/** The whole body of a small version; a short or long body is an error, never a short replica. */
async function readAll(body: Readable, size: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  if (bytes.length !== size) throw new Error(`the source returned ${bytes.length} of the ${size} bytes of the version`);
  return bytes;
}

/**
 * Headers that make the destination itself refuse a single-request replica whose bytes differ from
 * the source's, and give the replica the source's checksum: the MD5 of a plain ETag (`Content-MD5`)
 * and, beside it, the source's additional checksum (its algorithm, and its value where it covers the
 * whole object; see `singleRequestChecksum`). S3 checks both, and stores the checksum.
 */
export function sourceDigestHeaders(object: GetObjectCommandOutput): { headers: Partial<PutObjectCommandInput>; verifiedBy: 'md5' | 'checksum' | 'transit' } {
  const check = sourceCheckFor(object.ETag, object.ServerSideEncryption);
  const md5 = check.kind === 'md5' ? { ContentMD5: Buffer.from(check.md5Hex, 'hex').toString('base64') } : {};
  const checksum = singleRequestChecksum(sourceChecksumOf(object));
  const value = checksum?.value ? { [checksumField(checksum.algorithm)]: checksum.value } : {};
  const sum = checksum ? { ChecksumAlgorithm: checksum.algorithm, ...value } : {};
  const verifiedBy = check.kind === 'md5' ? 'md5' : checksum?.value ? 'checksum' : 'transit';
  return { headers: { ...md5, ...sum }, verifiedBy };
}

/** The metadata, storage class and encryption a replica is written with. */
export function replicaParams(object: GetObjectCommandOutput, options: DestinationOptions): Partial<PutObjectCommandInput> {
  const { storageClass, replacedSourceClass } = replicaStorageClass(object.StorageClass, options.partition, options.storageClass);
  if (replacedSourceClass && storageClass) options.onStorageClassReplaced?.(replacedSourceClass, storageClass);
  return {
    ContentType: object.ContentType,
    CacheControl: object.CacheControl,
    ContentDisposition: object.ContentDisposition,
    ContentEncoding: object.ContentEncoding,
    ContentLanguage: object.ContentLanguage,
    Expires: object.Expires,
    Metadata: object.Metadata,
    WebsiteRedirectLocation: object.WebsiteRedirectLocation,
    StorageClass: storageClass && storageClass !== 'STANDARD' ? storageClass as StorageClass : undefined,
    ...(options.kmsKeyArn ? { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: options.kmsKeyArn } : {}),
    ...(options.kmsKeyArn && options.bucketKeyEnabled ? { BucketKeyEnabled: true } : {}),
    ...(options.replicateObjectLock ? objectLockParams(object) : {}),
  };
}

/**
 * Creates a delete marker for the key on the destination and returns its version id. S3 creates a
 * marker even when the key has no version there; some S3-compatible stores (and moto) then create
 * nothing and return no id, which leaves the destination equally "deleted".
 */
export async function createDeleteMarker(destination: S3Client, bucket: string, key: string): Promise<{ destinationVersionId?: string }> {
  const result = await destination.send(sentOnceUnlessRefused(new DeleteObjectCommand({ Bucket: bucket, Key: key }), 'DeleteObject'));
  return { destinationVersionId: result.VersionId };
}

/** Permanently deletes one destination version. */
export async function deleteVersion(destination: S3Client, bucket: string, key: string, versionId: string): Promise<void> {
  await destination.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
}

/** Sets the source version's current tags on its replica. */
export async function syncTags(source: SourceVersion, destination: S3Client, destinationBucket: string, destinationVersionId: string): Promise<void> {
  const tags = await readTags(source);
  const target = { Bucket: destinationBucket, Key: source.key, VersionId: destinationVersionId };
  // An empty tag set is a delete: DeleteObjectTagging says so to every S3-compatible store.
  if (tags.length > 0) {
    await destination.send(new PutObjectTaggingCommand({ ...target, Tagging: { TagSet: tags } }));
  } else {
    await destination.send(new DeleteObjectTaggingCommand(target));
  }
}

/** Tags as the `x-amz-tagging` header wants them: URL-encoded query string. */
export function encodeTags(tags: Tag[]): string | undefined {
  if (tags.length === 0) return undefined;
  return tags.map((tag) => `${encodeURIComponent(tag.Key ?? '')}=${encodeURIComponent(tag.Value ?? '')}`).join('&');
}

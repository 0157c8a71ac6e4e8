import { Readable } from 'stream';
import {
  GetObjectCommand,
  GetObjectCommandOutput,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  HeadObjectCommandOutput,
  S3Client,
  Tag,
} from '@aws-sdk/client-s3';
import { keyVersionPages } from './key-listing';
import type { PartRange } from './multipart/part-plan';

type HttpStatus = { readonly $metadata?: { readonly httpStatusCode?: number } };

/** A source read that failed, keeping the HTTP status of its cause (so in-place retries judge it as S3 answered). */
abstract class SourceReadError extends Error {
  readonly $metadata?: HttpStatus['$metadata'];
  constructor(message: string, cause: unknown) {
    super(message);
    this.$metadata = (cause as HttpStatus | undefined)?.$metadata;
  }
}

/**
 * The source version no longer exists, verified: a read answered "not found" and the version (or
 * delete marker) is absent from the key's version listing at the source.
 */
export class SourceVersionGoneError extends SourceReadError {
  constructor(key: string, versionId: string, cause: unknown) {
    super(`source version ${versionId} of "${key}" no longer exists (${(cause as { name?: string }).name ?? 'not found'}, and not in the key's version listing)`, cause);
    this.name = 'SourceVersionGoneError';
  }
}

/**
 * The version's bytes are archived (GLACIER, DEEP_ARCHIVE, or an Intelligent-Tiering archive
 * tier): S3 refuses the GET with InvalidObjectState until the object is restored. S3 Replication
 * skips such objects too.
 */
export class SourceVersionArchivedError extends SourceReadError {
  constructor(key: string, versionId: string, cause: unknown) {
    super(`source version ${versionId} of "${key}" is archived (${(cause as Error).message ?? 'InvalidObjectState'})`, cause);
    this.name = 'SourceVersionArchivedError';
  }
}

/**
 * The version is encrypted with a customer-provided key (SSE-C): S3 keeps no copy of the key and
 * refuses to read the version without it (400 InvalidRequest, "The object was stored using a form of
 * Server Side Encryption..."), so the replicator, which never holds customers' keys, cannot copy it.
 */
export class SourceVersionCustomerKeyError extends SourceReadError {
  constructor(key: string, versionId: string, cause: unknown) {
    super(`source version ${versionId} of "${key}" is encrypted with a customer-provided key (SSE-C), which the replicator does not have (${(cause as Error).message ?? 'InvalidRequest'})`, cause);
    this.name = 'SourceVersionCustomerKeyError';
  }
}

/**
 * The version is a replica another replication wrote (it carries the replica marker, see
 * `replica-marker.ts`): as S3 Replication, replicas are not replicated again, which is what keeps a
 * two-way set-up from sending a version back and forth.
 */
export class SourceVersionIsReplicaError extends Error {
  constructor(key: string, versionId: string, readonly marker: string) {
    super(`source version ${versionId} of "${key}" is a replica (of ${marker}): replicas are not replicated again`);
    this.name = 'SourceVersionIsReplicaError';
  }
}

/**
 * Whether S3 refused a read because the version is SSE-C encrypted and the request carried no key:
 * 400 InvalidRequest naming server-side encryption or a customer key (a HEAD, which has no body,
 * answers a bare 400 that cannot be told apart from other refusals, and is not taken for one).
 */
export function isCustomerKeyRefusal(error: unknown): boolean {
  const { name, message, $metadata } = (error ?? {}) as { name?: string; message?: string } & HttpStatus;
  if (name !== 'InvalidRequest' || $metadata?.httpStatusCode !== 400) return false;
  return /server side encryption|customer[- ]provided|customer key|SSE-?C/i.test(message ?? '');
}

/**
 * A read answered "not found" although the key's version listing holds the version: not proof of
 * anything, so the message fails (retried, then dead-lettered) rather than being skipped.
 */
export class SourceVersionUnreadableError extends SourceReadError {
  constructor(key: string, versionId: string, cause: unknown) {
    const { name, $metadata } = cause as { name?: string } & HttpStatus;
    super(`source version ${versionId} of "${key}" is listed at the source, but reading it answered ${name ?? 'an error'} (${$metadata?.httpStatusCode ?? 'no status'})`, cause);
    this.name = 'SourceVersionUnreadableError';
  }
}

/**
 * The key as delivered has no such version at the source, but its URL-decoded form does: the event
 * carried an encoded key. The version id proves the identity; the message is replicated under `decodedKey`.
 */
export class SourceKeyEncodedError extends SourceReadError {
  constructor(readonly key: string, readonly decodedKey: string, readonly versionId: string, cause: unknown) {
    super(`"${key}" has no version ${versionId} at the source; its URL-decoded form "${decodedKey}" has`, cause);
    this.name = 'SourceKeyEncodedError';
  }
}

/** A "Permanently Deleted" message for a version the source still lists: nothing is deleted or remembered. */
export class SourceVersionNotDeletedError extends Error {
  constructor(key: string, versionId: string) {
    super(`a permanent delete of version ${versionId} of "${key}" was received, but the source still lists that version`);
    this.name = 'SourceVersionNotDeletedError';
  }
}

/** One exact source version: reads never fall back to "latest", so an overwrite cannot mix objects. */
export interface SourceVersion {
  readonly client: S3Client;
  readonly bucket: string;
  readonly key: string;
  readonly versionId: string;
}

/** Answers that say "no such key or version" (405: the version id names a delete marker). */
const NOT_FOUND = new Set(['NoSuchKey', 'NoSuchVersion', 'NotFound', 'MethodNotAllowed']);

/** The whole version, streamed, with its full-object checksum when the source stores one. */
export async function getVersion(version: SourceVersion): Promise<GetObjectCommandOutput> {
  const { client, bucket, key, versionId } = version;
  return goneAware(version, () => client.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId, ChecksumMode: 'ENABLED' })));
}

/**
 * Reads one byte range of the version into `buffer` (reused by the caller, so memory stays at one
 * part) and returns the filled part of it. `eTag` pins the object: a response for different bytes
 * is refused by the source (If-Match), and a short or long body is an error, never a short part.
 */
export async function readRange(version: SourceVersion, eTag: string, range: PartRange, buffer: Buffer): Promise<Buffer> {
  const { client, bucket, key, versionId } = version;
  const response = await goneAware(version, () => client.send(new GetObjectCommand({
    Bucket: bucket, Key: key, VersionId: versionId, Range: `bytes=${range.start}-${range.end}`, IfMatch: eTag,
  })));
  let filled = 0;
  for await (const chunk of response.Body as Readable) {
    const bytes = chunk as Buffer;
    if (filled + bytes.length > range.length) {
      (response.Body as Readable).destroy();
      throw new Error(`the source returned more than the ${range.length} bytes of part ${range.partNumber} of "${key}"`);
    }
    bytes.copy(buffer, filled);
    filled += bytes.length;
  }
  if (filled !== range.length) throw new Error(`the source returned ${filled} of the ${range.length} bytes of part ${range.partNumber} of "${key}"`);
  return buffer.subarray(0, filled);
}

/**
 * Part 1 of a version from the body of the full-object GET (`getVersion`) that already returned the
 * version's headers, instead of a second, ranged GET: the first `range.length` bytes go into
 * `buffer`, then the body is closed. The GET named the exact version and returned the ETag that pins
 * every ranged read of the copy, so these bytes are that same version's. A body that ends short is
 * an error, never a short part.
 */
export async function readFirstPart(body: Readable, key: string, range: PartRange, buffer: Buffer): Promise<Buffer> {
  if (range.start !== 0) throw new RangeError(`part ${range.partNumber} does not start the object`);
  let filled = 0;
  try {
    for await (const chunk of body) {
      filled += (chunk as Buffer).copy(buffer, filled, 0, Math.min((chunk as Buffer).length, range.length - filled));
      if (filled === range.length) break;
    }
  } finally {
    body.destroy();
  }
  if (filled !== range.length) throw new Error(`the source returned ${filled} of the ${range.length} bytes of part 1 of "${key}"`);
  return buffer.subarray(0, filled);
}

/** One part of a multipart version, as its upload made it: its size, and the upload's part count. */
export async function headPart(version: SourceVersion, partNumber: number): Promise<HeadObjectCommandOutput> {
  const { client, bucket, key, versionId } = version;
  return goneAware(version, () => client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId, PartNumber: partNumber })));
}

export async function readTags(version: SourceVersion): Promise<Tag[]> {
  const { client, bucket, key, versionId } = version;
  const result = await goneAware(version, () => client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key, VersionId: versionId })));
  return result.TagSet ?? [];
}

async function goneAware<T>(version: SourceVersion, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw await explainFailedRead(version, error);
  }
}

/**
 * What a failed read means. InvalidObjectState: archived. "Not found" (404, or 405 for a delete
 * marker): gone only if the key's version listing confirms it; else, when the key contains `%` or
 * `+` and its URL-decoded form lists the version, an encoded key; else unexplained, so it fails.
 * Any other error (a wrong bucket, access denied, throttling) is returned as it is.
 */
async function explainFailedRead(version: SourceVersion, error: unknown): Promise<unknown> {
  const { name, $metadata } = error as { name?: string } & HttpStatus;
  if (name === 'InvalidObjectState') return new SourceVersionArchivedError(version.key, version.versionId, error);
  if (isCustomerKeyRefusal(error)) return new SourceVersionCustomerKeyError(version.key, version.versionId, error);
  const status = $metadata?.httpStatusCode;
  if (name === 'NoSuchBucket' || !(NOT_FOUND.has(name ?? '') || status === 404 || status === 405)) return error;
  const { client, bucket, key, versionId } = version;
  if (await isListedAtSource(client, bucket, key, versionId)) return new SourceVersionUnreadableError(key, versionId, error);
  const decoded = formDecoded(key);
  if (decoded !== undefined && await isListedAtSource(client, bucket, decoded, versionId)) {
    return new SourceKeyEncodedError(key, decoded, versionId, error);
  }
  return new SourceVersionGoneError(key, versionId, error);
}

/**
 * The key as `application/x-www-form-urlencoded` decodes it (`+` is a space, `%XX` a byte of
 * UTF-8), as classic S3 notifications encode keys; undefined when it has nothing to decode or is
 * not validly encoded.
 */
export function formDecoded(key: string): string | undefined {
  if (!/[%+]/.test(key)) return undefined;
  try {
    const decoded = decodeURIComponent(key.replace(/\+/g, ' '));
    return decoded === key ? undefined : decoded;
  } catch {
    return undefined;
  }
}

/**
 * Whether the key's version listing at the source holds the version, as an object version or a
 * delete marker (ListObjectVersions with the key as prefix, exact key match). A key sorts before
 * every longer key it prefixes, so the listing stops as soon as it has passed the key.
 */
export async function isListedAtSource(client: S3Client, bucket: string, key: string, versionId: string): Promise<boolean> {
  for await (const { versions, deleteMarkers } of keyVersionPages(client, bucket, key)) {
    if ([...versions, ...deleteMarkers].some((entry) => entry.VersionId === versionId)) return true;
  }
  return false;
}

/**
 * The trust boundary of a "Permanently Deleted" message: it may delete a replica (or mark the
 * version as never to be copied) only once the source confirms the version is gone. Throws
 * otherwise, so a forged or mistaken message is retried, then dead-lettered.
 */
export async function confirmSourceVersionGone(version: SourceVersion): Promise<void> {
  const { client, bucket, key, versionId } = version;
  if (await isListedAtSource(client, bucket, key, versionId)) throw new SourceVersionNotDeletedError(key, versionId);
}
